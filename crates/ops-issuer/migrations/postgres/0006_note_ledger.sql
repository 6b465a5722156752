-- Per-note conservation (docs/STORAGE.md, "The per-note ledger"). Every claim on a note is
-- recorded: a spend of it (signed by its owner, conflicting ones too) or its consumption by
-- a deposit or a defund (the final note of a chain, consumed whole). `coverage` holds, per
-- note, the units some claim took first; the database keeps those rows disjoint and inside
-- the note's value, so no unit of a note is ever claimed first twice. A claim's units that
-- were already covered are its excess: each is in exactly one fraud case.

-- Conflicting spends are recorded too: the overlap rule moves to `coverage`.
ALTER TABLE spends DROP CONSTRAINT spends_no_overlap;
CREATE INDEX spends_note_from ON spends(input_note, range_from);

-- Every note the ledger has seen as the input of a claim: its value and its owner.
CREATE TABLE ledger_notes (
    note_id TEXT PRIMARY KEY,
    value BIGINT NOT NULL CHECK (value > 0),
    owner TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('issuance', 'spend')),
    UNIQUE (note_id, value)
);

-- A final note consumed by a deposit (its payee's account credited) or a defund (the
-- signer's account credited). One row per note: a note is credited once, whatever the
-- bytes that carried it.
CREATE TABLE consumptions (
    note_id TEXT PRIMARY KEY,
    value BIGINT NOT NULL CHECK (value > 0),
    kind TEXT NOT NULL CHECK (kind IN ('deposit', 'defund')),
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    depositor TEXT NOT NULL,
    deposit TEXT NOT NULL,
    created BIGINT NOT NULL
);
CREATE INDEX consumptions_account ON consumptions(account_id);

-- The units of each note claimed first, and by which claim ('spend': a spend id;
-- 'consumption': the consumed note's id). `note_value` must be the note's one value in
-- `ledger_notes` (composite foreign key), and bounds every range. Disjoint per note and one value per note,
-- whatever the interleaving of concurrent transactions.
CREATE TABLE coverage (
    note_id TEXT NOT NULL,
    range_from BIGINT NOT NULL,
    range_to BIGINT NOT NULL,
    note_value BIGINT NOT NULL,
    claim_kind TEXT NOT NULL CHECK (claim_kind IN ('spend', 'consumption')),
    claim TEXT NOT NULL,
    PRIMARY KEY (note_id, range_from),
    FOREIGN KEY (note_id, note_value) REFERENCES ledger_notes (note_id, value),
    CHECK (range_from >= 0 AND range_from < range_to AND range_to <= note_value),
    CONSTRAINT coverage_disjoint EXCLUDE USING gist (
        note_id WITH =,
        int8range(range_from, range_to) WITH &&
    )
);

CREATE FUNCTION coverage_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'coverage rows are never changed or removed';
END
$$;
CREATE TRIGGER coverage_immutable BEFORE UPDATE OR DELETE ON coverage
    FOR EACH ROW EXECUTE FUNCTION coverage_immutable();

-- Spends recorded before this migration never overlapped: their input notes enter the
-- ledger (owners of notes recorded before this migration are not known: empty), and each
-- spend covers its whole range. (Deposits recorded before it did not consume their final
-- notes: see docs/STORAGE.md.)
INSERT INTO ledger_notes (note_id, value, owner, kind)
SELECT s.input_note,
       COALESCE((SELECT n.amount FROM notes n WHERE n.note_id = s.input_note),
                (SELECT p.range_to - p.range_from FROM spends p WHERE p.spend_id = s.input_note),
                MAX(s.range_to)),
       '',
       CASE WHEN EXISTS (SELECT 1 FROM notes n WHERE n.note_id = s.input_note)
            THEN 'issuance' ELSE 'spend' END
FROM spends s GROUP BY s.input_note;
INSERT INTO coverage (note_id, range_from, range_to, note_value, claim_kind, claim)
SELECT s.input_note, s.range_from, s.range_to, l.value, 'spend', s.spend_id
FROM spends s JOIN ledger_notes l ON l.note_id = s.input_note;

-- A case now says which claims conflict and how many units it duplicated (`excess`: the
-- units of the later claim that an earlier one covered first; debited + shortfall).
ALTER TABLE fraud_cases
    ADD COLUMN kind TEXT NOT NULL DEFAULT 'spends' CHECK (kind IN ('spends', 'spend_and_deposit', 'legacy')),
    ADD COLUMN excess BIGINT NOT NULL DEFAULT 0 CHECK (excess >= 0);
-- Cases opened before it: the conflicting spend was never recorded, so their duplicated
-- units are outside the per-note ledger (`legacy`; the audit leaves them out of the
-- per-note equation and checks only their recovery).
UPDATE fraud_cases SET excess = debited + shortfall, kind = 'legacy';
CREATE INDEX fraud_cases_culprit ON fraud_cases(culprit);

-- Deposits that would credit a further copy of a revoked culprit's value, or more than the
-- per-culprit cap: held for an operator instead of credited.
CREATE TABLE held_deposits (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payment_hash TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('deposit', 'defund')),
    depositor TEXT NOT NULL,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    amount BIGINT NOT NULL CHECK (amount > 0),
    culprit TEXT NOT NULL,
    excess BIGINT NOT NULL,
    reason TEXT NOT NULL,
    payment BYTEA NOT NULL,
    status TEXT NOT NULL DEFAULT 'held' CHECK (status IN ('held', 'released', 'rejected')),
    decided_by TEXT,
    decision_note TEXT,
    decided_at BIGINT,
    created BIGINT NOT NULL
);
-- The final notes of a held deposit: a re-upload in other bytes finds the same hold.
CREATE TABLE held_notes (
    note_id TEXT PRIMARY KEY,
    held_id BIGINT NOT NULL REFERENCES held_deposits(id)
);

-- Deposits before it: the final note of each (a spend paying the deposit's depositor)
-- is consumed, unless the ledger holds an onward spend of it (then it stays unconsumed
-- and its credit is part of the account's opening value: see below).
INSERT INTO ledger_notes (note_id, value, owner, kind)
SELECT s.spend_id, s.range_to - s.range_from, s.payee, 'spend'
FROM spends s JOIN deposits d ON d.payment_hash = s.deposit AND d.depositor = s.payee
WHERE NOT EXISTS (SELECT 1 FROM spends o WHERE o.input_note = s.spend_id)
  AND NOT EXISTS (SELECT 1 FROM ledger_notes l WHERE l.note_id = s.spend_id);
INSERT INTO consumptions (note_id, value, kind, account_id, depositor, deposit, created)
SELECT s.spend_id, s.range_to - s.range_from, 'deposit', d.account_id, d.depositor, d.payment_hash, d.created
FROM spends s JOIN deposits d ON d.payment_hash = s.deposit AND d.depositor = s.payee
WHERE NOT EXISTS (SELECT 1 FROM spends o WHERE o.input_note = s.spend_id);
INSERT INTO coverage (note_id, range_from, range_to, note_value, claim_kind, claim)
SELECT c.note_id, 0, c.value, c.value, 'consumption', c.note_id FROM consumptions c;

-- What an account started with (sign-up balance, admin credit), for the audit's
-- per-account equation. Existing accounts: derived from their ledger, so that credits the
-- old schema cannot attribute to a note count as opening value.
ALTER TABLE accounts ADD COLUMN opening BIGINT NOT NULL DEFAULT 0;
UPDATE accounts SET opening = balance
    + COALESCE((SELECT SUM(amount) FROM notes n WHERE n.account_id = accounts.id), 0)
    - COALESCE((SELECT SUM(value) FROM consumptions c WHERE c.account_id = accounts.id), 0)
    + COALESCE((SELECT SUM(f.debited - f.refunded) FROM fraud_cases f JOIN devices v ON v.cert_id = f.culprit WHERE v.account_id = accounts.id), 0);
