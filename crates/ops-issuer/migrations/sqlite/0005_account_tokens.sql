-- Account access tokens: the SHA-256 (hex) of the token the demo sign-up returned once;
-- NULL for accounts created otherwise (read them with the admin token or a passkey session).
ALTER TABLE accounts ADD COLUMN token_hash TEXT;
-- Expired challenges and sessions are deleted in bounded batches, oldest first.
CREATE INDEX challenges_expires ON challenges(expires);
CREATE INDEX sessions_expires ON sessions(expires);
