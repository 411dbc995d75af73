-- Post-mission feedback on an engagement: a rating from 1 to 5, an optional
-- comment, who recorded it (an actor id such as `rso:officer-1`) and when,
-- as UTC text to the microsecond. A row has all of rating, recorder and
-- instant or none of them, and a comment only with a rating.

ALTER TABLE engagements ADD COLUMN feedback_rating INTEGER
    CHECK (feedback_rating BETWEEN 1 AND 5);
ALTER TABLE engagements ADD COLUMN feedback_comment TEXT;
ALTER TABLE engagements ADD COLUMN feedback_by TEXT;
ALTER TABLE engagements ADD COLUMN feedback_at TEXT
    CHECK (
        (feedback_rating IS NULL) = (feedback_by IS NULL)
        AND (feedback_rating IS NULL) = (feedback_at IS NULL)
        AND (feedback_comment IS NULL OR feedback_rating IS NOT NULL)
    );
