-- civiq schema, version 8: durable delivery of the events (issue 13).
-- Each subscriber of the events table (a webhook) keeps a cursor into it;
-- its delivery log is bounded. Times are Unix nanoseconds.

CREATE TABLE subscribers (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	kind            TEXT NOT NULL,
	url             TEXT NOT NULL,
	events          TEXT NOT NULL, -- JSON list of event types, or ["*"]
	halls           TEXT NOT NULL, -- JSON list of hall ids; [] every hall
	description     TEXT NOT NULL DEFAULT '',
	status          TEXT NOT NULL,
	created_by      TEXT NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	secret          TEXT NOT NULL,
	prev_secret     TEXT NOT NULL DEFAULT '',
	prev_until      INTEGER NOT NULL DEFAULT 0,
	after_event     INTEGER NOT NULL DEFAULT 0, -- the cursor
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_at         INTEGER NOT NULL DEFAULT 0,
	failing_since   INTEGER,
	last_error      TEXT NOT NULL DEFAULT '',
	lease_owner     TEXT NOT NULL DEFAULT '',
	lease_until     INTEGER NOT NULL DEFAULT 0
);

-- The delivery log: each try, its answer and how long it took.
CREATE TABLE deliveries (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	subscriber_id INTEGER NOT NULL,
	event_id      INTEGER NOT NULL,
	message_id    TEXT NOT NULL,
	at            INTEGER NOT NULL,
	status        INTEGER NOT NULL,
	latency_us    INTEGER NOT NULL,
	error         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX deliveries_subscriber ON deliveries (subscriber_id, id);
CREATE INDEX deliveries_at ON deliveries (at);
