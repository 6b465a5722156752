-- Funding requests by idempotency key (the `Idempotency-Key` header): a retried request
-- (a lost answer, a reload) gets the notes of the first, never a second funding.
CREATE TABLE fund_requests (
    device TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    amount INTEGER NOT NULL,
    notes TEXT NOT NULL,
    balance INTEGER NOT NULL,
    created INTEGER NOT NULL,
    PRIMARY KEY (device, idempotency_key)
);
