-- civiq schema, version 19: the notifications' operations (issue 15). A
-- provider's delivery report finds its message by the provider's id and
-- says when it came; a number that asked a hall for no more messages (a reply such as
-- 退订 or TD, or the phone page) is kept by its keyed hash, never in clear.
-- Times are Unix nanoseconds.

ALTER TABLE notify_messages ADD COLUMN reported_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX notify_messages_provider_id ON notify_messages (provider, provider_id);

CREATE TABLE notify_optouts (
	hall_id     TEXT NOT NULL,
	medium      TEXT NOT NULL,
	address_key TEXT NOT NULL, -- keyed hash of the address
	via         TEXT NOT NULL, -- reply, page
	created_at  INTEGER NOT NULL,
	PRIMARY KEY (hall_id, medium, address_key)
);
