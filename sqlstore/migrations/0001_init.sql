-- civiq schema, version 1.
CREATE TABLE halls (
	id   TEXT PRIMARY KEY,
	data TEXT NOT NULL -- the hall's settings as JSON
);

CREATE TABLE services (
	hall_id  TEXT NOT NULL REFERENCES halls(id),
	id       TEXT NOT NULL,
	prefix   TEXT NOT NULL,
	name     TEXT NOT NULL,
	name_en  TEXT NOT NULL DEFAULT '',
	position INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (hall_id, id)
);

CREATE TABLE counters (
	hall_id           TEXT NOT NULL REFERENCES halls(id),
	id                TEXT NOT NULL,
	name              TEXT NOT NULL,
	service_ids       TEXT NOT NULL, -- JSON array, in calling order
	status            TEXT NOT NULL,
	pause_reason      TEXT NOT NULL DEFAULT '',
	current_ticket_id TEXT NOT NULL DEFAULT '',
	position          INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (hall_id, id)
);

CREATE TABLE sequences (
	hall_id    TEXT NOT NULL,
	service_id TEXT NOT NULL,
	day        TEXT NOT NULL,
	last       INTEGER NOT NULL,
	PRIMARY KEY (hall_id, service_id, day)
);

-- Times are Unix nanoseconds.
CREATE TABLE tickets (
	id             TEXT PRIMARY KEY,
	hall_id        TEXT NOT NULL REFERENCES halls(id),
	service_id     TEXT NOT NULL,
	number         TEXT NOT NULL,
	day            TEXT NOT NULL,
	channel        TEXT NOT NULL,
	priority       TEXT NOT NULL,
	priority_group TEXT NOT NULL DEFAULT '',
	status         TEXT NOT NULL,
	issued_at      INTEGER NOT NULL,
	queued_at      INTEGER NOT NULL,
	called_at      INTEGER,
	serving_at     INTEGER,
	done_at        INTEGER,
	no_show_at     INTEGER,
	cancelled_at   INTEGER,
	counter_id     TEXT NOT NULL DEFAULT '',
	call_count     INTEGER NOT NULL DEFAULT 0
);
-- A number is never issued twice in a day, whatever the code above does.
CREATE UNIQUE INDEX tickets_number ON tickets (hall_id, day, number);
CREATE INDEX tickets_queue ON tickets (hall_id, service_id, priority, queued_at, issued_at, id) WHERE status = 'waiting';
CREATE INDEX tickets_called ON tickets (hall_id, called_at) WHERE called_at IS NOT NULL;
CREATE INDEX tickets_done ON tickets (hall_id, service_id, done_at) WHERE status = 'done';

CREATE TABLE events (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	hall_id TEXT NOT NULL,
	type    TEXT NOT NULL,
	at      INTEGER NOT NULL,
	data    TEXT NOT NULL
);
CREATE INDEX events_hall ON events (hall_id, id);

CREATE TABLE idempotency (
	scope        TEXT NOT NULL,
	key          TEXT NOT NULL,
	request_hash TEXT NOT NULL,
	ticket_id    TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	PRIMARY KEY (scope, key)
);

CREATE TABLE users (
	id            INTEGER PRIMARY KEY,
	username      TEXT NOT NULL UNIQUE,
	role          TEXT NOT NULL,
	hall_ids      TEXT NOT NULL DEFAULT '[]',
	password_hash TEXT NOT NULL,
	created_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
	token_hash TEXT PRIMARY KEY,
	user_id    INTEGER NOT NULL REFERENCES users(id),
	csrf       TEXT NOT NULL,
	expires_at INTEGER NOT NULL
);

CREATE TABLE devices (
	id           INTEGER PRIMARY KEY,
	kind         TEXT NOT NULL,
	hall_id      TEXT NOT NULL REFERENCES halls(id),
	counter_id   TEXT NOT NULL DEFAULT '',
	name         TEXT NOT NULL DEFAULT '',
	pairing_code TEXT UNIQUE,
	token_hash   TEXT UNIQUE,
	paired_at    INTEGER,
	created_at   INTEGER NOT NULL
);

CREATE TABLE ratings (
	id         INTEGER PRIMARY KEY,
	ticket_id  TEXT NOT NULL UNIQUE REFERENCES tickets(id),
	hall_id    TEXT NOT NULL,
	service_id TEXT NOT NULL,
	counter_id TEXT NOT NULL,
	score      INTEGER NOT NULL,
	comment    TEXT NOT NULL DEFAULT '',
	channel    TEXT NOT NULL,
	created_at INTEGER NOT NULL
);

-- How many tickets wait per service and class, kept by triggers so that a
-- new ticket's place and the hall's waiting counts cost one lookup, however
-- long the queue.
CREATE TABLE queue_counts (
	hall_id    TEXT NOT NULL,
	service_id TEXT NOT NULL,
	priority   TEXT NOT NULL,
	waiting    INTEGER NOT NULL,
	PRIMARY KEY (hall_id, service_id, priority)
);
CREATE TRIGGER tickets_queue_insert AFTER INSERT ON tickets WHEN NEW.status = 'waiting' BEGIN
	INSERT INTO queue_counts (hall_id, service_id, priority, waiting) VALUES (NEW.hall_id, NEW.service_id, NEW.priority, 1)
	ON CONFLICT (hall_id, service_id, priority) DO UPDATE SET waiting = waiting + 1;
END;
CREATE TRIGGER tickets_queue_leave AFTER UPDATE OF status, service_id, priority ON tickets WHEN OLD.status = 'waiting' BEGIN
	UPDATE queue_counts SET waiting = waiting - 1 WHERE hall_id = OLD.hall_id AND service_id = OLD.service_id AND priority = OLD.priority;
END;
CREATE TRIGGER tickets_queue_enter AFTER UPDATE OF status, service_id, priority ON tickets WHEN NEW.status = 'waiting' BEGIN
	INSERT INTO queue_counts (hall_id, service_id, priority, waiting) VALUES (NEW.hall_id, NEW.service_id, NEW.priority, 1)
	ON CONFLICT (hall_id, service_id, priority) DO UPDATE SET waiting = waiting + 1;
END;
