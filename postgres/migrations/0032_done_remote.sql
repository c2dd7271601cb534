-- PostgreSQL: civiq schema, version 32: the tickets done by channel hold
-- the remote ones alone, as on SQLite (a call finishing a walk-in's
-- ticket adds it to one index fewer).
DROP INDEX tickets_done_at;
CREATE INDEX tickets_done_remote ON tickets (hall_id, done_at) WHERE status = 'done' AND channel = 'remote';
