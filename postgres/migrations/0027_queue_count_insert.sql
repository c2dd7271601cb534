-- civiq schema, version 27: a new waiting ticket is counted in queue_counts
-- by the store's own statement in the issuing write (InsertTicket), as on
-- SQLite; the trigger of the ticket's later moves stays.
DROP TRIGGER tickets_queue_insert ON tickets;
