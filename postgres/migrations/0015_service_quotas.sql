-- Quotas (号源) of a service: the most tickets it gives in the hall's day,
-- in each half of it, and to one person a day; 0 is no limit.
ALTER TABLE services ADD COLUMN daily_quota INTEGER NOT NULL DEFAULT 0;
ALTER TABLE services ADD COLUMN half_day_quota INTEGER NOT NULL DEFAULT 0;
ALTER TABLE services ADD COLUMN per_person_daily INTEGER NOT NULL DEFAULT 0;
