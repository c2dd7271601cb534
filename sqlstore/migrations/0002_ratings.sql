-- civiq schema, version 2: 好差评 ratings, their follow-ups, working-day
-- calendars. Times are Unix nanoseconds; days are 'YYYY-MM-DD'.

-- The user who last called, started or finished a ticket: the staff member
-- a rating is linked to, and who may not rate it.
ALTER TABLE tickets ADD COLUMN served_by INTEGER;
-- The rater finds the ticket its counter finished last.
CREATE INDEX tickets_counter_done ON tickets (hall_id, counter_id, done_at) WHERE status = 'done';
-- The default rating rule finds the tickets done long enough ago.
CREATE INDEX tickets_done_at ON tickets (hall_id, channel, done_at) WHERE status = 'done';

ALTER TABLE ratings ADD COLUMN staff_id INTEGER;
ALTER TABLE ratings ADD COLUMN reasons TEXT NOT NULL DEFAULT '[]'; -- JSON array
ALTER TABLE ratings ADD COLUMN contact_phone TEXT NOT NULL DEFAULT ''; -- bad ratings only
ALTER TABLE ratings ADD COLUMN efficiency INTEGER; -- 服务效率, on site
ALTER TABLE ratings ADD COLUMN level INTEGER;      -- 服务水平
ALTER TABLE ratings ADD COLUMN attitude INTEGER;   -- 服务态度
CREATE INDEX ratings_hall_created ON ratings (hall_id, created_at);

-- A hall's rating rules, as JSON (civiq.RatingSettings); defaults when absent.
CREATE TABLE rating_settings (
	hall_id TEXT PRIMARY KEY REFERENCES halls(id),
	data    TEXT NOT NULL
);

-- The case each bad rating opens.
CREATE TABLE followups (
	id                     INTEGER PRIMARY KEY,
	hall_id                TEXT NOT NULL,
	rating_id              INTEGER NOT NULL UNIQUE REFERENCES ratings(id),
	ticket_id              TEXT NOT NULL REFERENCES tickets(id),
	service_id             TEXT NOT NULL,
	counter_id             TEXT NOT NULL,
	staff_id               INTEGER,
	score                  INTEGER NOT NULL,
	status                 TEXT NOT NULL,
	opened_at              INTEGER NOT NULL,
	working_days           INTEGER NOT NULL,
	deadline               TEXT NOT NULL,
	original_deadline      TEXT NOT NULL,
	extended               INTEGER NOT NULL DEFAULT 0,
	extension_reason       TEXT NOT NULL DEFAULT '',
	rejection_reason       TEXT NOT NULL DEFAULT '',
	rejection_requested_by TEXT NOT NULL DEFAULT '',
	citizen_view           TEXT NOT NULL DEFAULT '',
	public_summary         TEXT NOT NULL DEFAULT '',
	closed_at              INTEGER,
	updated_at             INTEGER NOT NULL
);
CREATE INDEX followups_opened ON followups (hall_id, opened_at);
CREATE INDEX followups_closed ON followups (hall_id, closed_at) WHERE closed_at IS NOT NULL;

-- Every move of a case: who, when, from what to what, and the note.
CREATE TABLE followup_history (
	id           INTEGER PRIMARY KEY,
	followup_id  INTEGER NOT NULL REFERENCES followups(id),
	move         TEXT NOT NULL,
	from_status  TEXT NOT NULL,
	to_status    TEXT NOT NULL,
	by_user      TEXT NOT NULL,
	at           INTEGER NOT NULL,
	note         TEXT NOT NULL DEFAULT '',
	reason       TEXT NOT NULL DEFAULT '',
	citizen_view TEXT NOT NULL DEFAULT '',
	deadline     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX followup_history_case ON followup_history (followup_id, id);

-- A hall's own working-day calendar on top of the built-in one: the years it
-- has replaced in full, and its own days (off or work).
CREATE TABLE calendar_years (
	hall_id TEXT NOT NULL REFERENCES halls(id),
	year    INTEGER NOT NULL,
	PRIMARY KEY (hall_id, year)
);
CREATE TABLE calendar_days (
	hall_id TEXT NOT NULL REFERENCES halls(id),
	day     TEXT NOT NULL,
	kind    TEXT NOT NULL,
	name    TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (hall_id, day)
);
