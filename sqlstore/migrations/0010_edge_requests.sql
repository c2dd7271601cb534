-- civiq schema, version 10: city-side requests that touch a hall's live
-- work, queued by the city for the hall's edge node (issue 16): a remote
-- ticket a phone asked for, a booking cancelled online. The edge takes
-- them with a long poll and answers. Times are Unix nanoseconds.

CREATE TABLE edge_requests (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	hall_id    TEXT NOT NULL,
	kind       TEXT NOT NULL,     -- ticket, cancel_booking
	body       TEXT NOT NULL,     -- JSON: the service, the phone's key, the booking code
	status     TEXT NOT NULL,     -- pending, taken, done, failed, expired
	created_at INTEGER NOT NULL,
	taken_at   INTEGER NOT NULL DEFAULT 0,
	answer     TEXT NOT NULL DEFAULT '' -- JSON: the edge's answer
);

CREATE INDEX edge_requests_open ON edge_requests (hall_id, id) WHERE status IN ('pending', 'taken');
