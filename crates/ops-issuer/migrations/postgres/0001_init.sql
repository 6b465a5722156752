-- Issuer and settlement schema (PostgreSQL). Amounts are minor units; ids are lowercase hex.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE accounts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL,
    balance BIGINT NOT NULL CHECK (balance >= 0),
    created BIGINT NOT NULL
);

CREATE TABLE devices (
    cert_id TEXT PRIMARY KEY,
    serial BIGINT NOT NULL UNIQUE,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    public_key TEXT NOT NULL,
    cert BYTEA NOT NULL,
    revoked BIGINT NOT NULL DEFAULT 0,
    created BIGINT NOT NULL
);
CREATE INDEX devices_account ON devices(account_id);

CREATE TABLE notes (
    note_id TEXT PRIMARY KEY,
    device TEXT NOT NULL REFERENCES devices(cert_id),
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    amount BIGINT NOT NULL CHECK (amount > 0),
    issuance BYTEA NOT NULL,
    issued BIGINT NOT NULL,
    expires BIGINT NOT NULL
);
CREATE INDEX notes_device ON notes(device);

CREATE TABLE spends (
    spend_id TEXT PRIMARY KEY,
    input_note TEXT NOT NULL,
    range_from BIGINT NOT NULL,
    range_to BIGINT NOT NULL,
    payee TEXT NOT NULL,
    signer TEXT NOT NULL,
    deposit TEXT NOT NULL,
    spend BYTEA NOT NULL,
    CHECK (range_from >= 0 AND range_from < range_to),
    -- The double-spend check, enforced by the database: no two recorded ranges of one
    -- note overlap, whatever the interleaving of concurrent transactions.
    CONSTRAINT spends_no_overlap EXCLUDE USING gist (
        input_note WITH =,
        int8range(range_from, range_to) WITH &&
    )
);

CREATE TABLE deposits (
    payment_hash TEXT PRIMARY KEY,
    depositor TEXT NOT NULL,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    amount BIGINT NOT NULL CHECK (amount >= 0),
    spends_recorded BIGINT NOT NULL,
    fraud_cases BIGINT NOT NULL,
    created BIGINT NOT NULL
);

CREATE TABLE fraud_cases (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    spend_a TEXT NOT NULL,
    spend_b TEXT NOT NULL,
    input_note TEXT NOT NULL,
    culprit TEXT NOT NULL,
    culprit_serial BIGINT NOT NULL,
    overlap BIGINT NOT NULL,
    proof BYTEA NOT NULL,
    debited BIGINT NOT NULL,
    shortfall BIGINT NOT NULL,
    deposit TEXT NOT NULL,
    resolved BIGINT NOT NULL DEFAULT 0,
    created BIGINT NOT NULL,
    UNIQUE (spend_a, spend_b)
);

CREATE TABLE crl_entries (
    serial BIGINT PRIMARY KEY,
    cert_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    revoked_at BIGINT NOT NULL
);

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('crl_version', 0);
