-- Fraud case resolution: who decided what, when and why. `resolution` is NULL while the
-- case is open; `refunded` is what a dismissal credited back to the culprit's account.
ALTER TABLE fraud_cases ADD COLUMN resolution TEXT
    CHECK (resolution IS NULL OR resolution IN ('confirmed', 'dismissed'));
ALTER TABLE fraud_cases ADD COLUMN resolution_note TEXT;
ALTER TABLE fraud_cases ADD COLUMN resolved_by TEXT;
ALTER TABLE fraud_cases ADD COLUMN resolved_at INTEGER;
ALTER TABLE fraud_cases ADD COLUMN refunded INTEGER NOT NULL DEFAULT 0 CHECK (refunded >= 0);
CREATE INDEX fraud_cases_resolution ON fraud_cases(resolution, id);
