-- civiq schema, version 3: appointments (booking.go, slots.go, strikes.go).
-- Times are Unix nanoseconds. A booking's name, phone and ID number are kept
-- sealed (AES-GCM, the server's secret key) beside their masked forms; the
-- person and phone keys are keyed hashes that find a person's bookings and
-- strikes without opening anything.

-- A hall's booking rules, as JSON (civiq.BookingSettings); defaults when absent.
CREATE TABLE booking_settings (
	hall_id TEXT PRIMARY KEY REFERENCES halls(id),
	data    TEXT NOT NULL
);

CREATE TABLE bookings (
	id            TEXT PRIMARY KEY,
	code          TEXT NOT NULL UNIQUE,
	hall_id       TEXT NOT NULL REFERENCES halls(id),
	service_id    TEXT NOT NULL,
	slot_start    INTEGER NOT NULL,
	slot_end      INTEGER NOT NULL,
	status        TEXT NOT NULL, -- booked, checked_in, cancelled, no_show
	person_key    TEXT NOT NULL,
	phone_key     TEXT NOT NULL,
	name_sealed   TEXT NOT NULL,
	name_masked   TEXT NOT NULL,
	phone_sealed  TEXT NOT NULL,
	phone_masked  TEXT NOT NULL,
	id_sealed     TEXT NOT NULL,
	id_masked     TEXT NOT NULL,
	created_at    INTEGER NOT NULL,
	cancelled_at  INTEGER,
	released_at   INTEGER, -- a cancelled place is free again from then
	checked_in_at INTEGER,
	no_show_at    INTEGER,
	ticket_id     TEXT NOT NULL DEFAULT '',
	ticket_number TEXT NOT NULL DEFAULT ''
);
CREATE INDEX bookings_slot ON bookings (hall_id, service_id, slot_start);
CREATE INDEX bookings_day ON bookings (hall_id, slot_start);
CREATE INDEX bookings_person ON bookings (hall_id, person_key, slot_start);
CREATE INDEX bookings_overdue ON bookings (hall_id, slot_start) WHERE status = 'booked';

-- No-shows held against a person (by person_key) in a hall.
CREATE TABLE strikes (
	id           INTEGER PRIMARY KEY,
	hall_id      TEXT NOT NULL REFERENCES halls(id),
	booking_id   TEXT NOT NULL UNIQUE REFERENCES bookings(id),
	person_key   TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	warning      TEXT NOT NULL DEFAULT '', -- the SMS-ready text, if any
	cleared_at   INTEGER,
	cleared_by   TEXT NOT NULL DEFAULT '',
	clear_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX strikes_person ON strikes (hall_id, person_key, created_at);
CREATE INDEX strikes_hall ON strikes (hall_id, created_at);

-- Appointment tickets wait in a class of their own, by their slot's start
-- (their queued_at); walk-ins are found past them by tickets_queue.
CREATE INDEX tickets_appointments ON tickets (hall_id, service_id, queued_at, issued_at, id)
	WHERE status = 'waiting' AND channel = 'appointment';
-- A counter's last calls: how many appointments it called in a row.
CREATE INDEX tickets_counter_called ON tickets (hall_id, counter_id, called_at) WHERE called_at IS NOT NULL;
