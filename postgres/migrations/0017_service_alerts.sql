-- PostgreSQL: civiq schema, version 17: service-level targets and alerts (alert.go).
-- A service's target wait (0: the dashboard's target) and the wait at which
-- its alert is raised (0: no alert), in minutes; the alerts raised now, one
-- row each until cleared. Times are Unix nanoseconds.
ALTER TABLE services ADD COLUMN target_wait_minutes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE services ADD COLUMN alert_wait_minutes INTEGER NOT NULL DEFAULT 0;

CREATE TABLE service_alerts (
	hall_id    TEXT NOT NULL,
	service_id TEXT NOT NULL,
	raised_at  BIGINT NOT NULL,
	PRIMARY KEY (hall_id, service_id)
);
