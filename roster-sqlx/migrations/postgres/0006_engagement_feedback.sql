-- Post-mission feedback on an engagement: a rating from 1 to 5, an optional
-- comment, who recorded it (an actor id such as `rso:officer-1`) and when.
-- A row has all of rating, recorder and instant or none of them, and a
-- comment only with a rating.

ALTER TABLE engagements
    ADD COLUMN feedback_rating SMALLINT CHECK (feedback_rating BETWEEN 1 AND 5),
    ADD COLUMN feedback_comment TEXT,
    ADD COLUMN feedback_by TEXT,
    ADD COLUMN feedback_at TIMESTAMPTZ,
    ADD CONSTRAINT engagements_feedback_whole CHECK (
        (feedback_rating IS NULL) = (feedback_by IS NULL)
        AND (feedback_rating IS NULL) = (feedback_at IS NULL)
        AND (feedback_comment IS NULL OR feedback_rating IS NOT NULL)
    );
