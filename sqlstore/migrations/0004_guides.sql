-- civiq schema, version 4: service guides (办事指南) and cases (办件).
-- Times are Unix nanoseconds; days are 'YYYY-MM-DD'.

-- A hall's service guides. The whole guide is kept as JSON (civiq.Guide);
-- the columns beside it are what lists and search read.
CREATE TABLE guides (
	seq        INTEGER PRIMARY KEY, -- the search index's rowid
	id         TEXT NOT NULL UNIQUE,
	hall_id    TEXT NOT NULL REFERENCES halls(id),
	service_id TEXT NOT NULL,
	position   INTEGER NOT NULL DEFAULT 0,
	name       TEXT NOT NULL,
	keywords   TEXT NOT NULL DEFAULT '', -- space separated
	extra      TEXT NOT NULL DEFAULT '', -- codes, authority, material names: searched with less weight
	data       TEXT NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX guides_hall ON guides (hall_id, position, name);
CREATE INDEX guides_service ON guides (hall_id, service_id, position, name);

-- Search: FTS5 with the trigram tokenizer finds any part of three
-- characters or more of a name or keyword, Chinese included (不动产 in
-- 不动产登记); shorter queries read the guides table with LIKE. The index
-- holds no text of its own (external content), triggers keep it current.
CREATE VIRTUAL TABLE guides_fts USING fts5(name, keywords, extra, content = 'guides', content_rowid = 'seq', tokenize = 'trigram');
CREATE TRIGGER guides_fts_insert AFTER INSERT ON guides BEGIN
	INSERT INTO guides_fts (rowid, name, keywords, extra) VALUES (NEW.seq, NEW.name, NEW.keywords, NEW.extra);
END;
CREATE TRIGGER guides_fts_delete AFTER DELETE ON guides BEGIN
	INSERT INTO guides_fts (guides_fts, rowid, name, keywords, extra) VALUES ('delete', OLD.seq, OLD.name, OLD.keywords, OLD.extra);
END;
CREATE TRIGGER guides_fts_update AFTER UPDATE OF name, keywords, extra ON guides BEGIN
	INSERT INTO guides_fts (guides_fts, rowid, name, keywords, extra) VALUES ('delete', OLD.seq, OLD.name, OLD.keywords, OLD.extra);
	INSERT INTO guides_fts (rowid, name, keywords, extra) VALUES (NEW.seq, NEW.name, NEW.keywords, NEW.extra);
END;

-- Cases opened at the counters. The applicant, materials and reason are
-- kept as JSON in data (the applicant sealed when the server has a secret
-- key); the columns beside it are what lists and lookups read.
CREATE TABLE cases (
	id            INTEGER PRIMARY KEY,
	number        TEXT NOT NULL UNIQUE,
	hall_id       TEXT NOT NULL REFERENCES halls(id),
	day           TEXT NOT NULL, -- the hall's day it was opened
	guide_id      TEXT NOT NULL, -- the guide may go; the case keeps its name
	ticket_id     TEXT NOT NULL REFERENCES tickets(id),
	status        TEXT NOT NULL,
	promised_date TEXT NOT NULL DEFAULT '',
	opened_at     INTEGER NOT NULL,
	accepted_at   INTEGER,
	closed_at     INTEGER,
	updated_at    INTEGER NOT NULL,
	data          TEXT NOT NULL
);
CREATE INDEX cases_hall ON cases (hall_id, opened_at);
CREATE INDEX cases_day ON cases (hall_id, day);
CREATE INDEX cases_ticket ON cases (ticket_id);
CREATE INDEX cases_due ON cases (hall_id, promised_date) WHERE closed_at IS NULL;

-- Every move of a case.
CREATE TABLE case_history (
	id          INTEGER PRIMARY KEY,
	case_id     INTEGER NOT NULL REFERENCES cases(id),
	at          INTEGER NOT NULL,
	from_status TEXT NOT NULL,
	to_status   TEXT NOT NULL,
	by_user     TEXT NOT NULL DEFAULT '',
	note        TEXT NOT NULL DEFAULT '',
	reason      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX case_history_case ON case_history (case_id, id);
