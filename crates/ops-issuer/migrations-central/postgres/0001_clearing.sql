-- The central bank's clearing ledger (issue 14, docs/API.md "Clearing"). Amounts are
-- minor units; FI ids are certificate ids in lowercase hex.

-- A clearing cycle: the credited claims netted together.
CREATE TABLE cycles (
    id BIGSERIAL PRIMARY KEY,
    closed_at BIGINT NOT NULL,
    claims BIGINT NOT NULL,
    gross BIGINT NOT NULL
);

-- Each claim an FI forwarded on another FI's notes, with the issuer's answer. Idempotent by
-- (from_fi, issuer, payment_hash); `credited` is the issuer's total for the claim.
CREATE TABLE claims (
    id BIGSERIAL PRIMARY KEY,
    from_fi TEXT NOT NULL,
    issuer TEXT NOT NULL,
    payment_hash TEXT NOT NULL,
    depositor TEXT NOT NULL,
    deposited_at BIGINT NOT NULL,
    payment BYTEA NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'held', 'credited', 'rejected', 'refused')),
    credited BIGINT NOT NULL DEFAULT 0 CHECK (credited >= 0),
    reason TEXT NOT NULL DEFAULT '',
    cycle BIGINT REFERENCES cycles(id),
    created BIGINT NOT NULL,
    CHECK (from_fi <> issuer),
    CHECK (cycle IS NULL OR status = 'credited'),
    UNIQUE (from_fi, issuer, payment_hash)
);
CREATE INDEX claims_unnetted ON claims(status, cycle);

-- Each FI's net position per cycle (they sum to zero per cycle).
CREATE TABLE positions (
    cycle BIGINT NOT NULL REFERENCES cycles(id),
    fi TEXT NOT NULL,
    net BIGINT NOT NULL,
    PRIMARY KEY (cycle, fi)
);

-- Reserve accounts: the sum of each FI's positions.
CREATE TABLE reserves (
    fi TEXT PRIMARY KEY,
    balance BIGINT NOT NULL
);

-- FI certificates the central bank revoked (its root CRL).
CREATE TABLE root_revocations (
    serial BIGINT PRIMARY KEY,
    fi TEXT NOT NULL,
    reason TEXT NOT NULL,
    revoked_at BIGINT NOT NULL
);

-- Each member FI's latest CRL, as fetched from it (served with the root CRL).
CREATE TABLE fi_crls (
    fi TEXT PRIMARY KEY,
    number BIGINT NOT NULL,
    issued BIGINT NOT NULL,
    crl BYTEA NOT NULL
);
