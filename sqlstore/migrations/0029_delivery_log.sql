-- civiq schema, version 29: the delivery log keeps a row for each record
-- a delivery worker makes (the tries of a batch, in order, as JSON:
-- [[event_id, at, status, latency_us, error, message_id], ...], the
-- message id "" when it is the event's, civiq.MessageID), not a row for
-- each try: at thousands of messages a second a hook inserted and deleted
-- a row, with its two index entries, for every message. The log keeps
-- the last 1,000 tries of each subscriber (whole records, so a few more),
-- for 7 days; the old rows come along, a record each.
CREATE TABLE delivery_log (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	subscriber_id INTEGER NOT NULL,
	at            INTEGER NOT NULL, -- the first try's
	tries         INTEGER NOT NULL,
	log           TEXT NOT NULL
);
CREATE INDEX delivery_log_subscriber ON delivery_log (subscriber_id, id);
INSERT INTO delivery_log (subscriber_id, at, tries, log)
	SELECT subscriber_id, at, 1, json_array(json_array(event_id, at, status, latency_us, error, message_id))
	FROM deliveries ORDER BY id;
DROP TABLE deliveries;
