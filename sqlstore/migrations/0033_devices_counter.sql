-- civiq schema, version 33: a hall's devices by counter. A hall's
-- counters are read with whether a paired counter device calls at each
-- (an EXISTS on the devices of the counter), and a hall's devices by
-- the hall: both read this index, not the whole table.
CREATE INDEX devices_counter ON devices (hall_id, counter_id);
