-- civiq schema, version 6: the signed receipts of cases (受理回执, 办结
-- notices). Times are Unix nanoseconds.

-- Every receipt issued, by its short code: the payload as signed.
CREATE TABLE receipts (
	code      TEXT PRIMARY KEY,
	case_id   INTEGER NOT NULL REFERENCES cases(id),
	kind      TEXT NOT NULL,
	payload   TEXT NOT NULL,
	issued_at INTEGER NOT NULL
);
CREATE INDEX receipts_case ON receipts (case_id, issued_at);
