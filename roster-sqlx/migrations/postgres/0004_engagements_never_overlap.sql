-- Two bookings of one expert never share a day, enforced by the database
-- as well as by the store's check. `btree_gist` lets a GiST index compare
-- expert ids with `=`; it goes in schema `public` so that dropping the
-- roster's own schema never takes the extension with it.

CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public;

ALTER TABLE engagements ADD CONSTRAINT engagements_never_overlap
    EXCLUDE USING gist (expert_id WITH =, daterange(first_day, last_day, '[]') WITH &&)
    WHERE (state IN ('accepted', 'completed'));
