-- The roster's tables. Instants are UTC text of one fixed form
-- (2025-07-01T08:30:00.000000Z) and dates are YYYY-MM-DD, so that text
-- order is time order. An expert's profile, nominations, CV id and term are
-- kept as JSON in `record`; the columns beside it are what queries filter on.

CREATE TABLE calls (
    year INTEGER PRIMARY KEY,
    first_day TEXT NOT NULL,
    last_day TEXT NOT NULL
) STRICT;

CREATE TABLE experts (
    id INTEGER PRIMARY KEY,
    identity_key TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    version INTEGER NOT NULL CHECK (version >= 1),
    term_first TEXT,
    term_last TEXT,
    record TEXT NOT NULL,
    CHECK ((term_first IS NULL) = (term_last IS NULL))
) STRICT;

CREATE INDEX experts_by_status ON experts (status, id);

-- AUTOINCREMENT keeps `seq` from ever being reused; a rolled-back insert
-- also rolls back the counter, so the trail has no gaps.
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    expert_id INTEGER NOT NULL REFERENCES experts (id),
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    reason TEXT NOT NULL
) STRICT;

CREATE INDEX audit_by_expert ON audit (expert_id, seq);

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;

CREATE TABLE requests (
    id TEXT PRIMARY KEY,
    requester TEXT NOT NULL,
    record TEXT NOT NULL
) STRICT;

CREATE TABLE engagements (
    request_id TEXT NOT NULL REFERENCES requests (id),
    expert_id INTEGER NOT NULL REFERENCES experts (id),
    first_day TEXT NOT NULL,
    last_day TEXT NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (request_id, expert_id)
) STRICT;

CREATE INDEX engagements_by_expert ON engagements (expert_id, first_day);
