-- civiq schema, version 31: the tickets sent to a counter or a clerk in
-- the order they are called (their place in time, then their issue, then
-- their id), so that a call's read of the first one sent to its counter
-- takes it from the index instead of sorting what it finds (SQLite opened
-- a temporary b-tree for the sort at every call, most often to sort
-- nothing).
DROP INDEX tickets_directed;
CREATE INDEX tickets_directed ON tickets (hall_id, queued_at, issued_at, id) WHERE status = 'waiting' AND (for_counter <> '' OR for_user <> 0);
