-- civiq schema, version 18: messages beyond tickets (issue 15). A message's
-- subject may be a booking, a case or a follow-up (ticket_id then holds
-- "booking:", "case:" or "followup:" and its id; its kind says which), and
-- a booking's reminders wait as "scheduled" until due_at: the minute tick
-- queues each once its time comes, with an event the delivery carries.

ALTER TABLE notify_messages ADD COLUMN due_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX notify_messages_due ON notify_messages (status, due_at);
