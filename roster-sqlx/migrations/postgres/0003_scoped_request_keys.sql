-- Request ids are the requester's own, so two members may use the same id.
-- Requests and engagements are keyed from now on by "<requester>/<id>".
-- New rows are written first and the old ones removed last, so the foreign
-- key from engagements holds after every statement.

CREATE TEMPORARY TABLE request_keys AS
    SELECT id AS old_key, requester || '/' || id AS new_key FROM requests;

INSERT INTO requests (id, requester, record)
    SELECT k.new_key, r.requester, r.record
    FROM requests r JOIN request_keys k ON r.id = k.old_key;

UPDATE engagements
    SET request_id = (SELECT k.new_key FROM request_keys k WHERE k.old_key = engagements.request_id);

DELETE FROM requests WHERE id IN (SELECT old_key FROM request_keys);

DROP TABLE request_keys;
