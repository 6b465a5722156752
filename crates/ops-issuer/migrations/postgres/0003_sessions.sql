-- Passkey login: what a challenge is for, and login sessions (the token's SHA-256 only).
ALTER TABLE challenges ADD COLUMN purpose TEXT NOT NULL DEFAULT 'register';
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    device TEXT NOT NULL REFERENCES devices(cert_id),
    expires BIGINT NOT NULL
);
