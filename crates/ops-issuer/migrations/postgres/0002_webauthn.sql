-- WebAuthn registration: single-use server challenges, and the credential behind a device.
CREATE TABLE challenges (
    id TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    challenge BYTEA NOT NULL,
    expires BIGINT NOT NULL,
    used BIGINT NOT NULL DEFAULT 0
);
ALTER TABLE devices ADD COLUMN credential_id TEXT;
ALTER TABLE devices ADD COLUMN sign_count BIGINT;
CREATE UNIQUE INDEX devices_credential ON devices(credential_id);
