-- The central bank's clearing ledger (issue 14, docs/API.md "Clearing"). Amounts are
-- minor units; FI ids are certificate ids in lowercase hex.

-- A clearing cycle: the credited claims netted together.
CREATE TABLE cycles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    closed_at INTEGER NOT NULL,
    claims INTEGER NOT NULL,
    gross INTEGER NOT NULL
);

-- Each claim an FI forwarded on another FI's notes, with the issuer's answer. Idempotent by
-- (from_fi, issuer, payment_hash); `credited` is the issuer's total for the claim.
CREATE TABLE claims (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    from_fi TEXT NOT NULL,
    issuer TEXT NOT NULL,
    payment_hash TEXT NOT NULL,
    depositor TEXT NOT NULL,
    deposited_at INTEGER NOT NULL,
    payment BLOB NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'held', 'credited', 'rejected', 'refused')),
    credited INTEGER NOT NULL DEFAULT 0 CHECK (credited >= 0),
    reason TEXT NOT NULL DEFAULT '',
    cycle INTEGER REFERENCES cycles(id),
    created INTEGER NOT NULL,
    CHECK (from_fi <> issuer),
    CHECK (cycle IS NULL OR status = 'credited'),
    UNIQUE (from_fi, issuer, payment_hash)
);
CREATE INDEX claims_unnetted ON claims(status, cycle);

-- Each FI's net position per cycle (they sum to zero per cycle).
CREATE TABLE positions (
    cycle INTEGER NOT NULL REFERENCES cycles(id),
    fi TEXT NOT NULL,
    net INTEGER NOT NULL,
    PRIMARY KEY (cycle, fi)
);

-- Reserve accounts: the sum of each FI's positions.
CREATE TABLE reserves (
    fi TEXT PRIMARY KEY,
    balance INTEGER NOT NULL
);

-- FI certificates the central bank revoked (its root CRL).
CREATE TABLE root_revocations (
    serial INTEGER PRIMARY KEY,
    fi TEXT NOT NULL,
    reason TEXT NOT NULL,
    revoked_at INTEGER NOT NULL
);

-- Each member FI's latest CRL, as fetched from it (served with the root CRL).
CREATE TABLE fi_crls (
    fi TEXT PRIMARY KEY,
    number INTEGER NOT NULL,
    issued INTEGER NOT NULL,
    crl BLOB NOT NULL
);
