-- Passkey login: what a challenge is for, and login sessions (the token's SHA-256 only).
ALTER TABLE challenges ADD COLUMN purpose TEXT NOT NULL DEFAULT 'register';
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    device TEXT NOT NULL REFERENCES devices(cert_id),
    expires INTEGER NOT NULL
);
