-- PostgreSQL: civiq schema, version 12: the 好差评 reporters (issue 13). A reporter is a
-- subscriber of kind "haochaping"; this keeps its auth and mapping, and the
-- records its provincial platform acknowledged, for the daily
-- reconciliation. Times are Unix nanoseconds.

CREATE TABLE haochaping_reporters (
	subscriber_id BIGINT PRIMARY KEY,
	config        TEXT NOT NULL -- JSON: auth, signature_header, mapping
);

CREATE TABLE haochaping_acks (
	subscriber_id BIGINT NOT NULL,
	record_id     TEXT NOT NULL,
	hall_id       TEXT NOT NULL,
	day           TEXT NOT NULL, -- the hall's local day of the record
	event_id      BIGINT NOT NULL,
	acked_at      BIGINT NOT NULL,
	PRIMARY KEY (subscriber_id, record_id)
);
CREATE INDEX haochaping_acks_day ON haochaping_acks (subscriber_id, hall_id, day);
