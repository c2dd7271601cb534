-- civiq schema, version 20: the transfers of tickets, kept for the staff
-- report (hallreport.go): which counter and clerk sent a ticket on, when it had
-- called it and when it sent it.
-- The ticket keeps only where it is now. Times are Unix nanoseconds.
CREATE TABLE ticket_transfers (
	id         INTEGER PRIMARY KEY,
	hall_id    TEXT NOT NULL,
	ticket_id  TEXT NOT NULL,
	day        TEXT NOT NULL, -- the ticket's local day
	counter_id TEXT NOT NULL DEFAULT '',
	user_id    INTEGER NOT NULL DEFAULT 0,
	called_at  INTEGER, -- when the counter had called it, if it had
	at         INTEGER NOT NULL
);
CREATE INDEX ticket_transfers_day ON ticket_transfers (hall_id, day);
