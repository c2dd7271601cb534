-- civiq schema, version 21: a ticket says when the hall gave its green
-- channel by itself: priority_by 'age', from the birth date of a resident
-- ID read at the kiosk or of the booking's (greenage.go); '' when chosen.

ALTER TABLE tickets ADD COLUMN priority_by TEXT NOT NULL DEFAULT '';
