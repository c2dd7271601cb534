-- PostgreSQL: civiq schema, version 31: the tickets sent to a counter or a
-- clerk in the order they are called, as on SQLite (there it spares a
-- call a temporary b-tree for the sort).
DROP INDEX tickets_directed;
CREATE INDEX tickets_directed ON tickets (hall_id, queued_at, issued_at, id) WHERE status = 'waiting' AND (for_counter <> '' OR for_user <> 0);
