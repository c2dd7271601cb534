-- civiq schema, version 23: the dashboard counts a hall's open follow-up
-- cases and the overdue ones (deadline before today) by an index of them,
-- not by reading up to a thousand cases.

CREATE INDEX followups_open ON followups (hall_id, deadline) WHERE status NOT IN ('revisited', 'rejected');
