-- The banks a user can choose (issue 14 item 1, GET /api/v1/banks): the member FIs the
-- central bank lists at each clearing run, with their services' addresses. Replaced whole
-- at each run; names come from the members' certificates, not from this table.
CREATE TABLE bank_directory (
    fi_id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    seen INTEGER NOT NULL
);
