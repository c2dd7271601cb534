package sqlstore

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/civiq/civiq"
)

// Counters (civiq's counter.go).

var _ civiq.CounterTx = (*tx)(nil)

const counterCols = `hall_id, id, name, service_ids, status, pause_reason, current_ticket_id, clerk_id`

// counterRead is what a counter is read with: its columns and its clerk's
// username.
const counterRead = counterCols + `, COALESCE((SELECT username FROM users u WHERE u.id = counters.clerk_id), '')`

// counterDevice is whether a paired counter device calls at the counter
// (civiq.Counter.DeviceCalls), read with a hall's counters
// (devices_counter, migration 33).
const counterDevice = `, EXISTS (SELECT 1 FROM devices d WHERE d.hall_id = counters.hall_id AND d.counter_id = counters.id
	AND d.kind = '` + civiq.DeviceCounter + `' AND d.paired_at IS NOT NULL AND d.token_hash IS NOT NULL)`

func scanCounter(sc scanner) (civiq.Counter, error) { return scanCounterOf(sc, false) }

// scanHallCounter scans a counter of a hall's read with counterDevice.
func scanHallCounter(sc scanner) (civiq.Counter, error) { return scanCounterOf(sc, true) }

func scanCounterOf(sc scanner, device bool) (civiq.Counter, error) {
	var c civiq.Counter
	var svcs string
	var err error
	if device {
		err = sc.Scan(&c.HallID, &c.ID, &c.Name, &svcs, &c.Status, &c.PauseReason, &c.CurrentTicketID, &c.ClerkID, &c.Clerk, &c.DeviceCalls)
	} else {
		err = sc.Scan(&c.HallID, &c.ID, &c.Name, &svcs, &c.Status, &c.PauseReason, &c.CurrentTicketID, &c.ClerkID, &c.Clerk)
	}
	if err != nil {
		return c, err
	}
	ids, err := counterServices(svcs)
	if err != nil {
		return c, fmt.Errorf("decode counter services: %w", err)
	}
	c.ServiceIDs = ids
	c.SetStaffed()
	return c, nil
}

func (t *tx) Counters(hallID string) ([]civiq.Counter, error) {
	return scanAll(scanHallCounter)(t.rows(`SELECT `+counterRead+counterDevice+` FROM counters WHERE hall_id = ? ORDER BY position, id`, hallID))
}

func (t *tx) Counter(hallID, id string) (*civiq.Counter, error) {
	c, err := scanCounter(t.row(`SELECT `+counterRead+` FROM counters WHERE hall_id = ? AND id = ?`, hallID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("counter", id)
	}
	if err != nil {
		return nil, err
	}
	return &c, nil
}

func (t *tx) ReleaseCounter(hallID, counterID, ticketID string) error {
	return t.exec(`UPDATE counters SET current_ticket_id = '' WHERE hall_id = ? AND id = ? AND current_ticket_id = ?`, hallID, counterID, ticketID)
}

func (t *tx) PutCounter(c *civiq.Counter) error {
	svcs, err := json.Marshal(c.ServiceIDs)
	if err != nil {
		return err
	}
	return t.exec(`INSERT INTO counters (`+counterCols+`, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, (SELECT COUNT(*) FROM counters WHERE hall_id = ?))
		ON CONFLICT (hall_id, id) DO UPDATE SET name = excluded.name, service_ids = excluded.service_ids, status = excluded.status,
		pause_reason = excluded.pause_reason, current_ticket_id = excluded.current_ticket_id, clerk_id = excluded.clerk_id`,
		c.HallID, c.ID, c.Name, string(svcs), c.Status, c.PauseReason, c.CurrentTicketID, c.ClerkID, c.HallID)
}

func (t *tx) DeleteCounter(hallID, id string) error {
	return t.exec(`DELETE FROM counters WHERE hall_id = ? AND id = ?`, hallID, id)
}

// decodedServices keeps the service lists of counters decoded, by their
// JSON: a hall has a few distinct ones, read at every call and by every
// screen that lists counters (json.Unmarshal was about 5 µs of a call's
// CPU). At most maxDecodedServices lists are kept.
var decodedServices struct {
	m sync.Map // string -> []string
	n atomic.Int64
}

const maxDecodedServices = 4096

// counterServices decodes a counter's service_ids, a list of its own
// (never nil) that its caller may change.
func counterServices(raw string) ([]string, error) {
	if v, ok := decodedServices.m.Load(raw); ok {
		return slices.Clone(v.([]string)), nil
	}
	ids := []string{}
	if err := json.Unmarshal([]byte(raw), &ids); err != nil {
		return nil, err
	}
	if ids == nil { // the JSON null
		ids = []string{}
	}
	if decodedServices.n.Add(1) <= maxDecodedServices {
		decodedServices.m.Store(raw, slices.Clone(ids))
	}
	return ids, nil
}
