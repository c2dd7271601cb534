-- PostgreSQL: civiq schema, version 9: what an edge node keeps of its pulls of the
-- city's configuration (issue 16): the cursor of the configuration it
-- applied last, the city's public receipt keys (they verify booking
-- passes) and when. Times are Unix nanoseconds.

CREATE TABLE edge_pulls (
	hall_id   TEXT PRIMARY KEY,
	config_cursor TEXT NOT NULL,
	city_keys TEXT NOT NULL, -- JSON list of the city's public keys
	pulled_at BIGINT NOT NULL
);
