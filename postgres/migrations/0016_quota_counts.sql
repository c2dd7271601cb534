-- PostgreSQL: civiq schema, version 16: a service's quotas count its tickets of
-- the hall's day in every issuing write; an index of the service's day,
-- holding what the count reads (channel, issue time, holder), so a count
-- reads that service's day alone, not every ticket of the hall's day.

CREATE INDEX tickets_quota ON tickets (hall_id, service_id, day, channel, issued_at, holder);
