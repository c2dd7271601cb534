-- civiq schema, version 32: the tickets done by channel held the remote
-- ones alone. Every call finishing a ticket added it to three indexes of
-- the tickets done (by service, by counter, by channel); the default
-- rating rule, which reads the remote tickets done long enough ago at
-- each run, is the only frequent reader of the channel's, so it now holds
-- those alone, and a day's unrated tickets of another channel (the
-- province's page) are read by service from tickets_done.
DROP INDEX tickets_done_at;
CREATE INDEX tickets_done_remote ON tickets (hall_id, done_at) WHERE status = 'done' AND channel = 'remote';
