-- PostgreSQL: civiq schema, version 13: notifications to citizens (issue 15). A hall's
-- settings (secrets sealed), each ticket's opt-ins (the address sealed,
-- deleted with the ticket's other personal data) and every message with
-- the provider's answer (the address masked). Times are Unix nanoseconds.

CREATE TABLE notify_settings (
	hall_id    TEXT PRIMARY KEY,
	body       TEXT NOT NULL, -- JSON of civiq.NotifySettings, secrets sealed
	updated_at BIGINT NOT NULL
);

CREATE TABLE notify_optins (
	ticket_id   TEXT NOT NULL,
	medium      TEXT NOT NULL,
	hall_id     TEXT NOT NULL,
	address     TEXT NOT NULL, -- sealed
	address_key TEXT NOT NULL, -- keyed hash: the limits per number
	lang        TEXT NOT NULL,
	created_at  BIGINT NOT NULL,
	PRIMARY KEY (ticket_id, medium)
);
CREATE INDEX notify_optins_hall ON notify_optins (hall_id);
CREATE INDEX notify_optins_address ON notify_optins (address_key, created_at);

CREATE TABLE notify_messages (
	id          TEXT PRIMARY KEY,
	hall_id     TEXT NOT NULL,
	day         TEXT NOT NULL, -- the hall's local day
	ticket_id   TEXT NOT NULL,
	number      TEXT NOT NULL,
	medium      TEXT NOT NULL,
	kind        TEXT NOT NULL,
	provider    TEXT NOT NULL DEFAULT '',
	to_masked   TEXT NOT NULL,
	address_key TEXT NOT NULL,
	params      TEXT NOT NULL, -- JSON list of {name, value}
	status      TEXT NOT NULL,
	provider_id TEXT NOT NULL DEFAULT '',
	code        TEXT NOT NULL DEFAULT '',
	error       TEXT NOT NULL DEFAULT '',
	tries       BIGINT NOT NULL DEFAULT 0,
	event_id    BIGINT NOT NULL,
	ord         BIGINT NOT NULL, -- the order among those of one event
	created_at  BIGINT NOT NULL,
	updated_at  BIGINT NOT NULL,
	UNIQUE (ticket_id, medium, kind)
);
CREATE INDEX notify_messages_day ON notify_messages (hall_id, day);
CREATE INDEX notify_messages_status ON notify_messages (hall_id, status);
CREATE INDEX notify_messages_address ON notify_messages (address_key, created_at);
