-- civiq schema, version 11: edge nodes (issue 16). Times are Unix
-- nanoseconds.

-- On the city: each hall's edge tokens, kept as hashes. A revoked or
-- rotated token works until expires_at.
CREATE TABLE edge_tokens (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	hall_id      TEXT NOT NULL REFERENCES halls(id),
	description  TEXT NOT NULL DEFAULT '',
	hash         TEXT NOT NULL UNIQUE,
	created_by   TEXT NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER,
	last_used_at INTEGER
);
CREATE INDEX edge_tokens_hall ON edge_tokens (hall_id);

-- On the city: each edge node of a hall (edge_id names its database), the
-- last of its events applied, what it said of itself when last heard.
CREATE TABLE edge_links (
	hall_id      TEXT NOT NULL,
	edge_id      TEXT NOT NULL,
	last_applied INTEGER NOT NULL DEFAULT 0,
	applied_at   INTEGER NOT NULL DEFAULT 0,
	seen_at      INTEGER NOT NULL DEFAULT 0,
	pending      INTEGER NOT NULL DEFAULT 0,
	oldest_at    INTEGER,
	PRIMARY KEY (hall_id, edge_id)
);

-- On an edge: its own id, made on its first start.
CREATE TABLE edge_self (
	id         TEXT PRIMARY KEY,
	created_at INTEGER NOT NULL
);
