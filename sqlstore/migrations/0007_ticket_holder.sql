-- The phone that took a remote ticket: a hash of its cookie, '' for any
-- other ticket. A hall lets one phone hold a few waiting tickets of a
-- service, and caps the remote tickets waiting in each service.
ALTER TABLE tickets ADD COLUMN holder TEXT NOT NULL DEFAULT '';
CREATE INDEX tickets_waiting_remote ON tickets (hall_id, service_id, holder) WHERE status = 'waiting' AND channel = 'remote';
