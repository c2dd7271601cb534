-- civiq schema, version 22: the clerk's context at the counter. A ticket
-- keeps the guide it was taken from (a kiosk's or phone's guide page); a
-- transfer may send it to a given counter or to a given clerk, with a note
-- the next clerk reads; a counter knows who is signed in at it (the user
-- who opened it).

ALTER TABLE tickets ADD COLUMN guide_id TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN for_counter TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN for_user INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN transfer_note TEXT NOT NULL DEFAULT '';
ALTER TABLE counters ADD COLUMN clerk_id INTEGER NOT NULL DEFAULT 0;
-- The few tickets sent to a counter or a clerk, read at every call.
CREATE INDEX tickets_directed ON tickets (hall_id, queued_at) WHERE status = 'waiting' AND (for_counter <> '' OR for_user <> 0);
