-- PostgreSQL: civiq schema, version 33: a hall's devices by counter, as
-- on SQLite (a hall's counters are read with whether a paired counter
-- device calls at each; a hall's devices by the hall).
CREATE INDEX devices_counter ON devices (hall_id, counter_id);
