-- Invitations, the outbox, term reminders, revocation requests, and the
-- hash chain of the audit trail.

-- Each entry's hash covers the entry and the hash before it (see
-- roster_core::lifecycle::chain_hash). Entries written before this
-- migration keep NULL hashes; the chain starts after them.
ALTER TABLE audit ADD COLUMN prev_hash TEXT;
ALTER TABLE audit ADD COLUMN hash TEXT;

-- Only the SHA-256 of a token is kept, never the token.
CREATE TABLE invitations (
    id INTEGER PRIMARY KEY,
    expert_id INTEGER NOT NULL REFERENCES experts (id),
    token_hash TEXT NOT NULL UNIQUE,
    email_key TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    cancelled_at TEXT
) STRICT;

CREATE INDEX invitations_by_expert ON invitations (expert_id, id);

-- `notice` is the JSON of roster_core::store::Notice.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    expert_id INTEGER NOT NULL REFERENCES experts (id),
    address TEXT NOT NULL,
    notice TEXT NOT NULL,
    queued_at TEXT NOT NULL,
    sent_at TEXT
) STRICT;

CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;

-- One reminder per expert and term.
CREATE TABLE reminders (
    expert_id INTEGER NOT NULL REFERENCES experts (id),
    term_last TEXT NOT NULL,
    message_id INTEGER NOT NULL REFERENCES outbox (id),
    PRIMARY KEY (expert_id, term_last)
) STRICT;

CREATE TABLE revocation_requests (
    id INTEGER PRIMARY KEY,
    expert_id INTEGER NOT NULL REFERENCES experts (id),
    requested_by TEXT NOT NULL,
    reason TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    decided_by TEXT,
    accepted INTEGER CHECK (accepted IN (0, 1)),
    decision_reason TEXT,
    decided_at TEXT,
    CHECK ((decided_at IS NULL) = (accepted IS NULL))
) STRICT;

CREATE INDEX revocation_requests_by_expert ON revocation_requests (expert_id, id);
