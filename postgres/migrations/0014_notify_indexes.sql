-- PostgreSQL: civiq schema, version 14: the notifications' limits count the messages
-- handed to a provider in the last minute (per hall) and hour (per
-- number) by the time they were handed: indexes for both, so a count reads
-- the last minutes, not the day.

CREATE INDEX notify_messages_handed ON notify_messages (hall_id, updated_at);
CREATE INDEX notify_messages_address_handed ON notify_messages (address_key, updated_at);
