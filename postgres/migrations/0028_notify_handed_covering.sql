-- PostgreSQL: civiq schema, version 28: the index of the messages by the
-- time they were handed holds their status and medium too, so the hall's
-- count of the last minute reads the index alone, as on SQLite.
DROP INDEX notify_messages_handed;
CREATE INDEX notify_messages_handed ON notify_messages (hall_id, updated_at, status, medium);
