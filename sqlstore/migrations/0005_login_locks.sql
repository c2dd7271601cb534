-- civiq schema, version 5: sign-in locks and the audit of security events.
-- Times are Unix nanoseconds.

-- A user locked after too many wrong passwords is locked until then (an
-- admin lifts it: NULL).
ALTER TABLE users ADD COLUMN locked_until INTEGER;

-- Security events kept for admins: sign-in locks and their lifts. Events
-- of halls are in events; these concern no hall.
CREATE TABLE audit_events (
	id       INTEGER PRIMARY KEY AUTOINCREMENT,
	type     TEXT NOT NULL,
	at       INTEGER NOT NULL,
	username TEXT NOT NULL,
	actor    TEXT NOT NULL DEFAULT '',
	address  TEXT NOT NULL DEFAULT ''
);
