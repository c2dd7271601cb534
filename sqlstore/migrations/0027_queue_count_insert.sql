-- civiq schema, version 27: a new waiting ticket is counted in queue_counts
-- by the store's own statement in the issuing write (InsertTicket), which
-- also answers the ticket's place, instead of by a trigger: a trigger made
-- SQLite keep a statement journal for every ticket's insert, and the place
-- took a statement of its own. The triggers of the ticket's later moves
-- stay.
DROP TRIGGER tickets_queue_insert;
