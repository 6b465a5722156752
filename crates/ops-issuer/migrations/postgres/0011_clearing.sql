-- Clearing between FIs (issue 14, docs/API.md "Clearing"). A payment whose notes another FI
-- issued is credited to the merchant here and queued, in the same transaction, as a claim
-- on that issuer; the clearing run forwards it through the central bank and keeps the
-- answer. Idempotent by (issuer, payment hash).
CREATE TABLE clearing_outbox (
    id BIGSERIAL PRIMARY KEY,
    issuer TEXT NOT NULL,
    payment_hash TEXT NOT NULL,
    depositor TEXT NOT NULL,
    payment BYTEA NOT NULL,
    deposited_at BIGINT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'held', 'credited', 'rejected', 'refused')),
    credited BIGINT NOT NULL DEFAULT 0 CHECK (credited >= 0),
    reason TEXT NOT NULL DEFAULT '',
    answered_at BIGINT,
    UNIQUE (issuer, payment_hash)
);
CREATE INDEX clearing_outbox_status ON clearing_outbox(status);

-- The account of each peer FI at this FI: claims of its merchants on this FI's notes are
-- consumed for it, so its balance is what this FI owes it through clearing.
CREATE TABLE peer_accounts (
    fi TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL UNIQUE REFERENCES accounts(id)
);

-- Other FIs' CRLs (and the root's), as received through the central bank: served to this
-- FI's devices with its own, so a culprit another FI revoked is declined here too.
CREATE TABLE peer_crls (
    issuer TEXT PRIMARY KEY,
    number BIGINT NOT NULL,
    issued BIGINT NOT NULL,
    crl BYTEA NOT NULL
);

-- When this FI first saw each serial on a peer's CRL: the revocation time settlement
-- holds a payee to (no earlier than the peer's list reached here).
CREATE TABLE peer_revocations (
    issuer TEXT NOT NULL,
    serial BIGINT NOT NULL,
    seen_at BIGINT NOT NULL,
    PRIMARY KEY (issuer, serial)
);

-- When a case whose culprit is another FI's device was passed to the central bank, which
-- hands the proof to that FI (it revokes the culprit); NULL until then.
ALTER TABLE fraud_cases ADD COLUMN forwarded_at BIGINT;
