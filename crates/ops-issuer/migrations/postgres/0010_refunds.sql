-- Lost, stolen or replaced devices (issue 14): after a note's deposit deadline (its expiry
-- plus the grace period, docs/API.md "Refunds"), the units of a note this FI issued to a
-- device its holder revoked that no claim covered go back to the holder's account, once.
-- No deposit can claim them afterwards: a deposit after the note's expiry fails rule V14.
CREATE TABLE refunds (
    note_id TEXT PRIMARY KEY REFERENCES notes(note_id),
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    device TEXT NOT NULL,
    amount BIGINT NOT NULL CHECK (amount > 0),
    created BIGINT NOT NULL
);
CREATE INDEX refunds_account ON refunds(account_id);
