-- PostgreSQL: civiq schema, version 30: fewer indexes for each message to
-- keep, as on SQLite: the unused index by number and creation time goes,
-- and the index of the scheduled messages by their time holds those alone.
DROP INDEX notify_messages_address;
DROP INDEX notify_messages_due;
CREATE INDEX notify_messages_due ON notify_messages (due_at) WHERE status = 'scheduled';
