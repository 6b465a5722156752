-- WebAuthn registration: single-use server challenges, and the credential behind a device.
CREATE TABLE challenges (
    id TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    challenge BLOB NOT NULL,
    expires INTEGER NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
ALTER TABLE devices ADD COLUMN credential_id TEXT;
ALTER TABLE devices ADD COLUMN sign_count INTEGER;
CREATE UNIQUE INDEX devices_credential ON devices(credential_id);
