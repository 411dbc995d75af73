-- Engagements and calls are changed against the version that was read, as
-- experts are. Rows written before carry version 1.

ALTER TABLE engagements ADD COLUMN version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1);
ALTER TABLE calls ADD COLUMN version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1);
