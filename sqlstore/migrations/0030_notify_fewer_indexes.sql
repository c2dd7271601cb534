-- civiq schema, version 30: fewer indexes for each message to keep. The
-- index of the messages by number and creation time served no query (the
-- number's count of its last hour reads notify_messages_address_handed),
-- and the index of the scheduled messages by their time held every
-- message, so that each change of a message's status moved its entry: it
-- now holds the scheduled ones alone, all the reminders' tick reads.
DROP INDEX notify_messages_address;
DROP INDEX notify_messages_due;
CREATE INDEX notify_messages_due ON notify_messages (due_at) WHERE status = 'scheduled';
