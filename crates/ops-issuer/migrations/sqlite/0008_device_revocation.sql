-- Lost or replaced devices (issue 11): the account holder revokes a device from another
-- one. Who revoked each certificate, for the operator: 'device:<cert id>' (a passkey
-- session of that device), 'account_token', 'admin', or 'settlement' (a fraud case; every
-- revocation before this migration was one).
ALTER TABLE crl_entries ADD COLUMN revoked_by TEXT NOT NULL DEFAULT 'settlement';
-- What the device list shows: the holder's own name for the device (never certified), and
-- the passkey's backup flags at registration (WebAuthn BE and BS; NULL: unknown).
ALTER TABLE devices ADD COLUMN label TEXT;
ALTER TABLE devices ADD COLUMN backup_eligible INTEGER;
ALTER TABLE devices ADD COLUMN backup_state INTEGER;
