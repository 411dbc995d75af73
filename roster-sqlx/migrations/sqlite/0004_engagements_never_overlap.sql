-- Two bookings of one expert never share a day, enforced by the database
-- as well as by the store's check inside its write transaction. Dates are
-- YYYY-MM-DD text, so text order is day order.

CREATE TRIGGER engagements_never_overlap_insert
BEFORE INSERT ON engagements
WHEN NEW.state IN ('accepted', 'completed')
BEGIN
    SELECT RAISE(ABORT, 'engagements_never_overlap')
    WHERE EXISTS (
        SELECT 1 FROM engagements AS other
        WHERE other.expert_id = NEW.expert_id
          AND other.request_id <> NEW.request_id
          AND other.state IN ('accepted', 'completed')
          AND other.first_day <= NEW.last_day
          AND NEW.first_day <= other.last_day
    );
END;

CREATE TRIGGER engagements_never_overlap_update
BEFORE UPDATE ON engagements
WHEN NEW.state IN ('accepted', 'completed')
BEGIN
    SELECT RAISE(ABORT, 'engagements_never_overlap')
    WHERE EXISTS (
        SELECT 1 FROM engagements AS other
        WHERE other.expert_id = NEW.expert_id
          AND other.request_id <> OLD.request_id
          AND other.state IN ('accepted', 'completed')
          AND other.first_day <= NEW.last_day
          AND NEW.first_day <= other.last_day
    );
END;
