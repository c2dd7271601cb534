-- civiq schema, version 26: single sign-on's settings as an admin sets
-- them (ssosettings.go): one row, the JSON of civiq.SSOSettings with the
-- client secret and the directory's search password sealed. No row: the
-- server's flags are in force.

CREATE TABLE sso_settings (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	body       TEXT NOT NULL,
	updated_at INTEGER NOT NULL
);
