-- Counterparty block list (issue 14 item 5, docs/PROTOCOL.md §6.1): certificates this FI's
-- devices must neither pay nor accept payment from. Published signed and versioned like
-- the CRL (in GET /api/v1/trust); settlement refuses deposits that break it.
CREATE TABLE blocked_counterparties (
    cert_id TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    created BIGINT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('blocklist_version', 0);
