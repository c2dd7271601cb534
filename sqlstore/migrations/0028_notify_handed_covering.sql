-- civiq schema, version 28: the index of the messages by the time they
-- were handed holds their status and medium too, so the hall's count of
-- the last minute (its rate limit, read at every claim) reads the index
-- alone: it looked up each message's row for its status, a thousand rows
-- a claim in a busy minute. The same entries, no index more to write.
DROP INDEX notify_messages_handed;
CREATE INDEX notify_messages_handed ON notify_messages (hall_id, updated_at, status, medium);
