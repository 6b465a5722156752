-- Fraud case resolution: who decided what, when and why. `resolution` is NULL while the
-- case is open; `refunded` is what a dismissal credited back to the culprit's account.
ALTER TABLE fraud_cases
    ADD COLUMN resolution TEXT CHECK (resolution IS NULL OR resolution IN ('confirmed', 'dismissed')),
    ADD COLUMN resolution_note TEXT,
    ADD COLUMN resolved_by TEXT,
    ADD COLUMN resolved_at BIGINT,
    ADD COLUMN refunded BIGINT NOT NULL DEFAULT 0 CHECK (refunded >= 0),
    ADD CONSTRAINT fraud_cases_resolution_complete CHECK (
        (resolution IS NULL AND resolution_note IS NULL AND resolved_by IS NULL AND resolved_at IS NULL)
        OR (resolution IS NOT NULL AND resolution_note IS NOT NULL AND resolved_by IS NOT NULL AND resolved_at IS NOT NULL)
    );
CREATE INDEX fraud_cases_resolution ON fraud_cases(resolution, id);
