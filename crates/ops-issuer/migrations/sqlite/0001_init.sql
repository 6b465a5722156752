-- Issuer and settlement schema (SQLite). Amounts are minor units; ids are lowercase hex.
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    balance INTEGER NOT NULL CHECK (balance >= 0),
    created INTEGER NOT NULL
);

CREATE TABLE devices (
    cert_id TEXT PRIMARY KEY,
    serial INTEGER NOT NULL UNIQUE,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    public_key TEXT NOT NULL,
    cert BLOB NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL
);
CREATE INDEX devices_account ON devices(account_id);

CREATE TABLE notes (
    note_id TEXT PRIMARY KEY,
    device TEXT NOT NULL REFERENCES devices(cert_id),
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    amount INTEGER NOT NULL CHECK (amount > 0),
    issuance BLOB NOT NULL,
    issued INTEGER NOT NULL,
    expires INTEGER NOT NULL
);
CREATE INDEX notes_device ON notes(device);

CREATE TABLE spends (
    spend_id TEXT PRIMARY KEY,
    input_note TEXT NOT NULL,
    range_from INTEGER NOT NULL,
    range_to INTEGER NOT NULL,
    payee TEXT NOT NULL,
    signer TEXT NOT NULL,
    deposit TEXT NOT NULL,
    spend BLOB NOT NULL,
    CHECK (range_from >= 0 AND range_from < range_to)
);
CREATE INDEX spends_note_from ON spends(input_note, range_from);

-- The double-spend check, enforced by the database: no two recorded ranges of one note
-- overlap. (SQLite serialises writers; value-moving transactions use BEGIN IMMEDIATE.)
CREATE TRIGGER spends_no_overlap BEFORE INSERT ON spends
WHEN EXISTS (
    SELECT 1 FROM spends
    WHERE input_note = NEW.input_note
      AND range_from < NEW.range_to
      AND range_to > NEW.range_from
)
BEGIN
    SELECT RAISE(ABORT, 'double spend: overlapping range of the same note');
END;

CREATE TABLE deposits (
    payment_hash TEXT PRIMARY KEY,
    depositor TEXT NOT NULL,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    amount INTEGER NOT NULL CHECK (amount >= 0),
    spends_recorded INTEGER NOT NULL,
    fraud_cases INTEGER NOT NULL,
    created INTEGER NOT NULL
);

CREATE TABLE fraud_cases (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    spend_a TEXT NOT NULL,
    spend_b TEXT NOT NULL,
    input_note TEXT NOT NULL,
    culprit TEXT NOT NULL,
    culprit_serial INTEGER NOT NULL,
    overlap INTEGER NOT NULL,
    proof BLOB NOT NULL,
    debited INTEGER NOT NULL,
    shortfall INTEGER NOT NULL,
    deposit TEXT NOT NULL,
    resolved INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL,
    UNIQUE (spend_a, spend_b)
);

CREATE TABLE crl_entries (
    serial INTEGER PRIMARY KEY,
    cert_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    revoked_at INTEGER NOT NULL
);

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO meta (key, value) VALUES ('crl_version', 0);
