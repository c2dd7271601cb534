package civiq

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"time"
)

// The down direction of an edge node (issue 16): the city owns a hall's
// configuration (edge.go's ownership table), and the hall's edge pulls it.
//
// The city answers a hall's configuration as one document (HallConfig)
// named by a cursor, a hash of the document: the edge asks with the
// cursor it holds, and the city answers nothing when that is still its
// cursor, else the document and its cursor. The edge applies a document in
// one transaction with one event row (config.pulled), keeping its own
// live state (a counter's status and ticket, a booking it checked in),
// and remembers the cursor; a change made on the city while the link is
// down is in the first answer after it returns, and an edge started on an
// empty database pulls it all at once (civiq edge-sync).

// EventConfigPulled is the event of an edge applying its city's
// configuration; its text is the cursor.
const EventConfigPulled = "config.pulled"

// EventConfigChanged is the event of a change to what the city owns of a
// hall (edge.go's ownership table: its settings, services, users and
// their passwords, devices, guides, calendar), one row per hall the change
// concerns, in the change's transaction; its text names the work
// (WorkUsers...). Counters, booking and rating settings have events of
// their own.
const EventConfigChanged = "config.changed"

// configChanged writes the event rows of a change of w in the halls.
func (e *Engine) configChanged(tx Tx, w Work, halls ...string) error {
	now := e.now()
	for _, h := range slices.Compact(slices.Sorted(slices.Values(halls))) {
		if err := tx.AppendEvent(&Event{HallID: h, Type: EventConfigChanged, At: now, Text: string(w)}); err != nil {
			return err
		}
	}
	return nil
}

// userChanged writes the event rows of a change to a user: in each hall
// the user works in, as each of users stands (before and after a change);
// an admin works in every hall.
func (e *Engine) userChanged(tx Tx, users ...*User) error {
	var halls []string
	for _, u := range users {
		if u.Role != RoleAdmin {
			halls = append(halls, u.HallIDs...)
			continue
		}
		all, err := tx.Halls()
		if err != nil {
			return err
		}
		for _, h := range all {
			halls = append(halls, h.ID)
		}
	}
	return e.configChanged(tx, WorkUsers, halls...)
}

// ConfigBookingDays is how many days after today the bookings a
// configuration carries reach at least (the hall's days_ahead when more).
const ConfigBookingDays = 7

// HallConfig is what the city owns of a hall, as its edge pulls it.
type HallConfig struct {
	Hall            Hall               `json:"hall"`
	Services        []Service          `json:"services"` // in the hall's order
	Counters        []ConfigCounter    `json:"counters"`
	BookingSettings *BookingSettings   `json:"booking_settings"`
	RatingSettings  *RatingSettings    `json:"rating_settings"`
	Users           []ConfigUser       `json:"users"`
	Devices         []ConfigDevice     `json:"devices"`
	Guides          []Guide            `json:"guides"`
	CalendarYears   []int              `json:"calendar_years"`
	CalendarDays    []CalendarDay      `json:"calendar_days"`
	Bookings        []ConfigBooking    `json:"bookings"` // from yesterday on
	Keys            []ReceiptPublicKey `json:"keys"`     // the city's receipt keys: they verify booking passes
}

// ConfigCounter is a counter as the city owns it: which, and what it
// serves. Its status and ticket are the edge's: Status is the city's
// last copy, which a counter new at the edge starts from (an edge whose
// disk was replaced), and no part of the cursor.
type ConfigCounter struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	ServiceIDs []string `json:"service_ids"`
	Status     string   `json:"status,omitempty"`
}

// ConfigUser is a user who may work in the hall (its staff and managers,
// and the admins), with the password hash, so they sign in at the edge.
type ConfigUser struct {
	Username     string    `json:"username"`
	Role         string    `json:"role"`
	HallIDs      []string  `json:"hall_ids"`
	PasswordHash string    `json:"password_hash"`
	CreatedAt    time.Time `json:"created_at"`
}

// ConfigDevice is a device of the hall, paired or still to pair.
type ConfigDevice struct {
	Kind        string     `json:"kind"`
	CounterID   string     `json:"counter_id,omitempty"`
	Name        string     `json:"name"`
	PairingCode string     `json:"pairing_code,omitempty"`
	TokenHash   string     `json:"token_hash,omitempty"`
	PairedAt    *time.Time `json:"paired_at,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
}

func (d *ConfigDevice) key() string {
	return d.Kind + "\x00" + d.CounterID + "\x00" + d.Name + "\x00" + d.PairingCode + "\x00" + d.TokenHash
}

// ConfigBooking is a booking with its keyed hashes and sealed data, which
// an edge sharing the city's secret key can use (a card reader's
// check-in); the masked forms serve any edge.
type ConfigBooking struct {
	Booking
	PersonKey   string `json:"person_key"`
	PhoneKey    string `json:"phone_key"`
	NameSealed  string `json:"name_sealed"`
	PhoneSealed string `json:"phone_sealed"`
	IDSealed    string `json:"id_sealed"`
}

// ConfigPull is the city's answer to an edge's pull: the cursor, and the
// configuration when it is not the edge's.
type ConfigPull struct {
	Cursor string      `json:"cursor"`
	Config *HallConfig `json:"config,omitempty"`
}

// EdgePullState is what an edge remembers of its pulls.
type EdgePullState struct {
	HallID   string             `json:"hall_id"`
	Cursor   string             `json:"cursor"`
	Keys     []ReceiptPublicKey `json:"keys"`
	PulledAt time.Time          `json:"pulled_at"` // the last configuration applied
}

// EdgePullTx is what an edge keeps of its pulls (sqlstore/edgepull.go).
type EdgePullTx interface {
	// EdgePullState is not_found before the first pull.
	EdgePullState(hallID string) (*EdgePullState, error)
	PutEdgePullState(s *EdgePullState) error
}

// hallConfig reads a hall's configuration.
func (e *Engine) hallConfig(tx Tx, hallID string) (*HallConfig, error) {
	h, err := tx.Hall(hallID)
	if err != nil {
		return nil, err
	}
	c := &HallConfig{Hall: *h}
	if c.Services, err = tx.Services(hallID); err != nil {
		return nil, err
	}
	counters, err := tx.Counters(hallID)
	if err != nil {
		return nil, err
	}
	for _, k := range counters {
		c.Counters = append(c.Counters, ConfigCounter{ID: k.ID, Name: k.Name, ServiceIDs: k.ServiceIDs, Status: k.Status})
	}
	if c.BookingSettings, err = tx.BookingSettings(hallID); err != nil {
		return nil, err
	}
	if c.RatingSettings, err = tx.RatingSettings(hallID); err != nil {
		return nil, err
	}
	users, err := tx.Users()
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		if u.Role == RoleAdmin || slices.Contains(u.HallIDs, hallID) {
			c.Users = append(c.Users, ConfigUser{Username: u.Username, Role: u.Role, HallIDs: u.HallIDs,
				PasswordHash: u.PasswordHash, CreatedAt: u.CreatedAt.UTC()})
		}
	}
	devices, err := tx.Devices(hallID)
	if err != nil {
		return nil, err
	}
	for _, d := range devices {
		c.Devices = append(c.Devices, ConfigDevice{Kind: d.Kind, CounterID: d.CounterID, Name: d.Name,
			PairingCode: d.PairingCode, TokenHash: d.TokenHash, PairedAt: utcPtr(d.PairedAt), CreatedAt: d.CreatedAt.UTC()})
	}
	if c.Guides, err = tx.Guides(GuideQuery{HallID: hallID, Limit: -1}); err != nil {
		return nil, err
	}
	if c.CalendarYears, err = tx.CalendarYears(hallID); err != nil {
		return nil, err
	}
	if c.CalendarDays, err = tx.CalendarDays(hallID); err != nil {
		return nil, err
	}
	loc := h.Location()
	today := Date(e.now(), loc)
	from := time.Date(today.Year(), today.Month(), today.Day()-1, 0, 0, 0, 0, loc)
	bookings, err := tx.Bookings(hallID, from, from.AddDate(0, 0, 2+max(ConfigBookingDays, c.BookingSettings.DaysAhead)))
	if err != nil {
		return nil, err
	}
	for _, b := range bookings {
		cb := ConfigBooking{Booking: b, PersonKey: b.PersonKey, PhoneKey: b.PhoneKey, NameSealed: b.NameSealed,
			PhoneSealed: b.PhoneSealed, IDSealed: b.IDSealed}
		cb.TicketStatus = ""
		cb.In(time.UTC)
		c.Bookings = append(c.Bookings, cb)
	}
	if e.Receipts != nil {
		c.Keys = e.Receipts.Public()
	}
	return c, nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// Cursor names a configuration: a hash of what it states.
func (c *HallConfig) Cursor() (string, error) {
	named := *c
	named.Counters = make([]ConfigCounter, len(c.Counters))
	for i, k := range c.Counters {
		k.Status = "" // the edge's: its changes change no configuration
		named.Counters[i] = k
	}
	b, err := json.Marshal(&named)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:16]), nil
}

// PullConfig answers an edge's pull, on the city: the hall's
// configuration and its cursor, or the cursor alone when it is after.
// An edge pulls every few seconds and its hall's configuration seldom
// changes, so the city remembers the cursor it last answered with the
// hall's newest event then, and answers "unchanged" without reading the
// configuration when the edge holds that cursor and the events since are
// all of the hall's live work (configUnaffected); at least every
// ConfigRecheck, on a new day of the hall (the bookings carried move with
// it) or new receipt keys it reads the configuration again.
func (e *Engine) PullConfig(ctx context.Context, hallID, after string) (*ConfigPull, error) {
	if after != "" && e.configStill(ctx, hallID, after) {
		return &ConfigPull{Cursor: after}, nil
	}
	var c *HallConfig
	var last int64
	err := e.store.View(ctx, func(tx Tx) (err error) {
		if last, err = tx.HallLastEventID(hallID); err != nil {
			return err
		}
		c, err = e.hallConfig(tx, hallID)
		return err
	})
	if err != nil {
		return nil, err
	}
	cursor, err := c.Cursor()
	if err != nil {
		return nil, err
	}
	now := e.now()
	loc := c.Hall.Location()
	e.pulled.Store(hallID, &pulledConfig{cursor: cursor, eventID: last, loc: loc, day: Date(now, loc), keys: c.Keys, at: now})
	if cursor == after {
		return &ConfigPull{Cursor: cursor}, nil
	}
	return &ConfigPull{Cursor: cursor, Config: c}, nil
}

// ConfigRecheck is how long the city answers an edge's pulls from what it
// remembers (PullConfig) before it reads the configuration again.
const ConfigRecheck = time.Minute

// pulledConfig is what the city remembers of the last configuration of a
// hall it answered: its cursor, the hall's newest event then, the hall's
// time zone and day, the receipt keys and when.
type pulledConfig struct {
	cursor  string
	eventID int64
	loc     *time.Location
	day     time.Time
	keys    []ReceiptPublicKey
	at      time.Time
}

// configStill reports whether the configuration of a hall is still the one
// of cursor, without reading it: the city answered it last, not longer
// than ConfigRecheck ago, on the hall's same day, with the same keys, and
// every event of the hall since is live work that changes no
// configuration. On any doubt (an error too) it says no.
func (e *Engine) configStill(ctx context.Context, hallID, cursor string) bool {
	v, ok := e.pulled.Load(hallID)
	if !ok {
		return false
	}
	p := v.(*pulledConfig)
	now := e.now()
	if p.cursor != cursor || now.Sub(p.at) >= ConfigRecheck || now.Before(p.at) {
		return false
	}
	if !Date(now, p.loc).Equal(p.day) {
		return false
	}
	var keys []ReceiptPublicKey
	if e.Receipts != nil {
		keys = e.Receipts.Public()
	}
	if !slices.Equal(keys, p.keys) {
		return false
	}
	const most = 500 // more events since: read the configuration
	evs, err := e.store.EventsAfter(ctx, hallID, p.eventID, most)
	if err != nil || len(evs) == most {
		return false
	}
	for _, ev := range evs {
		if !configUnaffected(ev) {
			return false
		}
	}
	if n := len(evs); n > 0 {
		// The next pull reads only the events after these (a new value:
		// concurrent pulls may read the old one).
		q := *p
		q.eventID = evs[n-1].ID
		e.pulled.CompareAndSwap(hallID, p, &q)
	}
	return true
}

// configUnaffected reports whether an event is of the hall's live work
// that never changes its configuration (HallConfig): tickets moving,
// ratings, announcements, alerts, follow-ups and cases, opt-ins, the
// edge's own pulls. A ticket event naming a booking (a check-in) changes
// the booking the configuration carries; any type not named here (a
// config.changed, a counter's, a booking's, a setting's, or one added
// later) counts as a change.
func configUnaffected(ev *Event) bool {
	if ev.Booking != nil {
		return false
	}
	switch ev.Type {
	case EventIssued, EventCalled, EventRecalled, EventServing, EventDone, EventNoShow, EventTransferred,
		EventReturned, EventCancelled, EventRated, EventUpdated, EventAnnouncement, EventServiceAlert,
		EventFollowUp, EventCase, EventNotifyOptIn, EventNotifyOptOut, EventConfigPulled:
		return true
	}
	return false
}

// EdgePull is what an edge node remembers of its pulls: not_found before
// the first.
func (e *Engine) EdgePull(ctx context.Context, hallID string) (*EdgePullState, error) {
	var s *EdgePullState
	err := e.store.View(ctx, func(tx Tx) (err error) {
		s, err = tx.EdgePullState(hallID)
		return err
	})
	return s, err
}

// LoadCityKeys sets the engine's CityKeys from the keys the edge last
// pulled; none before the first pull.
func (e *Engine) LoadCityKeys(ctx context.Context, hallID string) error {
	s, err := e.EdgePull(ctx, hallID)
	if IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return e.setCityKeys(s.Keys)
}

func (e *Engine) setCityKeys(list []ReceiptPublicKey) error {
	if len(list) == 0 {
		e.CityKeys = nil
		return nil
	}
	k, err := PublicReceiptKeys(list)
	if err != nil {
		return err
	}
	e.CityKeys = k
	return nil
}

// ApplyConfig applies, on an edge node of hallID, a pull of its city: a
// configuration is written in one transaction with its event row, done
// as the city (the ownership rule lets it through); a pull without one
// changes nothing. It reports whether it applied a configuration.
func (e *Engine) ApplyConfig(ctx context.Context, hallID string, p *ConfigPull) (bool, error) {
	if p.Config == nil {
		return false, nil
	}
	c := p.Config
	if c.Hall.ID != hallID {
		return false, Errorf(EForbidden, "the city sent the configuration of hall %q, not of %q", c.Hall.ID, hallID)
	}
	now := e.now()
	ctx = WithOwner(ctx, NodeCity) // edge.go: written for its owner
	err := e.update(ctx, func(tx Tx) error {
		if err := applyConfig(tx, c, now); err != nil {
			return err
		}
		if err := tx.PutEdgePullState(&EdgePullState{HallID: hallID, Cursor: p.Cursor, Keys: c.Keys, PulledAt: now}); err != nil {
			return err
		}
		return tx.AppendEvent(&Event{HallID: hallID, Type: EventConfigPulled, At: now, Text: p.Cursor})
	})
	if err != nil {
		return false, err
	}
	return true, e.setCityKeys(c.Keys)
}

// applyConfig writes the city's configuration of a hall over the edge's,
// keeping what the edge owns.
func applyConfig(tx Tx, c *HallConfig, now time.Time) error {
	hallID := c.Hall.ID
	h := c.Hall
	if err := tx.PutHall(&h); err != nil {
		return err
	}
	// Services, in the city's order; those the city dropped go.
	have, err := tx.Services(hallID)
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	for i, s := range c.Services {
		s.HallID, s.Position = hallID, i
		keep[s.ID] = true
		if err := tx.PutService(&s); err != nil {
			return err
		}
	}
	for _, s := range have {
		if !keep[s.ID] {
			if err := tx.DeleteService(hallID, s.ID); err != nil {
				return err
			}
		}
	}
	// Counters: the city's names and services, the edge's state.
	counters, err := tx.Counters(hallID)
	if err != nil {
		return err
	}
	local := map[string]Counter{}
	for _, k := range counters {
		local[k.ID] = k
	}
	keep = map[string]bool{}
	for _, k := range c.Counters {
		keep[k.ID] = true
		cur, ok := local[k.ID]
		if !ok {
			cur = Counter{HallID: hallID, ID: k.ID, Status: k.Status}
			if cur.Status == "" {
				cur.Status = CounterClosed
			}
		}
		cur.Name, cur.ServiceIDs = k.Name, k.ServiceIDs
		if err := tx.PutCounter(&cur); err != nil {
			return err
		}
	}
	for id := range local {
		if !keep[id] {
			if err := tx.DeleteCounter(hallID, id); err != nil {
				return err
			}
		}
	}
	if c.BookingSettings != nil {
		if err := tx.PutBookingSettings(hallID, c.BookingSettings); err != nil {
			return err
		}
	}
	if c.RatingSettings != nil {
		if err := tx.PutRatingSettings(hallID, c.RatingSettings); err != nil {
			return err
		}
	}
	if err := applyUsers(tx, c.Users); err != nil {
		return err
	}
	if err := applyDevices(tx, hallID, c.Devices); err != nil {
		return err
	}
	if err := applyGuides(tx, hallID, c.Guides); err != nil {
		return err
	}
	if err := applyCalendar(tx, hallID, c.CalendarYears, c.CalendarDays); err != nil {
		return err
	}
	return applyBookings(tx, c.Bookings)
}

// applyUsers makes the edge's users the city's: a user keeps the edge's
// sign-in lock.
func applyUsers(tx Tx, users []ConfigUser) error {
	have, err := tx.Users()
	if err != nil {
		return err
	}
	local := map[string]User{}
	for _, u := range have {
		local[u.Username] = u
	}
	keep := map[string]bool{}
	for _, cu := range users {
		keep[cu.Username] = true
		u, ok := local[cu.Username]
		u.Role, u.HallIDs, u.PasswordHash = cu.Role, cu.HallIDs, cu.PasswordHash
		if ok {
			if err := tx.UpdateUser(&u); err != nil {
				return err
			}
			continue
		}
		u.Username, u.CreatedAt = cu.Username, cu.CreatedAt
		if err := tx.InsertUser(&u); err != nil {
			return err
		}
	}
	for _, u := range have {
		if !keep[u.Username] {
			if err := tx.DeleteUser(u.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// applyDevices makes the hall's devices the city's; one unchanged keeps
// its row. A device paired here (the hall's devices talk to the edge)
// keeps the token it was given while the city still has it waiting for
// its pairing code: the code, used, does not come back. One the city
// removed goes; one the city paired takes the city's token.
func applyDevices(tx Tx, hallID string, devices []ConfigDevice) error {
	have, err := tx.Devices(hallID)
	if err != nil {
		return err
	}
	pairedHere := map[string]Device{}
	for _, d := range have {
		if d.PairingCode == "" && d.TokenHash != "" {
			pairedHere[deviceIdentity(d.Kind, d.CounterID, d.Name, d.CreatedAt)] = d
		}
	}
	devices = slices.Clone(devices)
	for i, d := range devices {
		if l, ok := pairedHere[deviceIdentity(d.Kind, d.CounterID, d.Name, d.CreatedAt)]; ok && d.PairingCode != "" && d.TokenHash == "" {
			devices[i].PairingCode, devices[i].TokenHash, devices[i].PairedAt = "", l.TokenHash, l.PairedAt
		}
	}
	want := map[string]bool{}
	for _, d := range devices {
		want[d.key()] = true
	}
	held := map[string]bool{}
	for _, d := range have {
		cd := ConfigDevice{Kind: d.Kind, CounterID: d.CounterID, Name: d.Name, PairingCode: d.PairingCode, TokenHash: d.TokenHash}
		if want[cd.key()] && !held[cd.key()] {
			held[cd.key()] = true
			continue
		}
		if err := tx.DeleteDevice(d.ID); err != nil {
			return err
		}
	}
	for _, d := range devices {
		if held[d.key()] {
			continue
		}
		held[d.key()] = true
		if err := tx.InsertDevice(&Device{Kind: d.Kind, HallID: hallID, CounterID: d.CounterID, Name: d.Name,
			PairingCode: d.PairingCode, TokenHash: d.TokenHash, PairedAt: d.PairedAt, CreatedAt: d.CreatedAt}); err != nil {
			return err
		}
	}
	return nil
}

// deviceIdentity is what a device is the same device by at the city and
// at the edge: the city's creation time is copied with it.
func deviceIdentity(kind, counterID, name string, created time.Time) string {
	return kind + "\x00" + counterID + "\x00" + name + "\x00" + strconv.FormatInt(created.UnixNano(), 10)
}

func applyGuides(tx Tx, hallID string, guides []Guide) error {
	have, err := tx.Guides(GuideQuery{HallID: hallID, Limit: -1})
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, g := range guides {
		g.HallID = hallID
		keep[g.ID] = true
		if err := tx.PutGuide(&g); err != nil {
			return err
		}
	}
	for _, g := range have {
		if !keep[g.ID] {
			if err := tx.DeleteGuide(g.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// applyCalendar replaces the hall's own days with the city's.
func applyCalendar(tx Tx, hallID string, years []int, days []CalendarDay) error {
	haveYears, err := tx.CalendarYears(hallID)
	if err != nil {
		return err
	}
	for _, y := range haveYears {
		if err := tx.DeleteCalendarYear(hallID, y); err != nil {
			return err
		}
	}
	haveDays, err := tx.CalendarDays(hallID)
	if err != nil {
		return err
	}
	for _, d := range haveDays {
		if err := tx.DeleteCalendarDay(hallID, d.Date); err != nil {
			return err
		}
	}
	byYear := map[int][]CalendarDay{}
	for _, d := range days {
		d.Source = ""
		t, err := time.Parse(time.DateOnly, d.Date)
		if err != nil {
			return FieldErrorf("calendar_days", "bad date %q", d.Date)
		}
		if slices.Contains(years, t.Year()) {
			byYear[t.Year()] = append(byYear[t.Year()], d)
		} else if err := tx.PutCalendarDay(hallID, d); err != nil {
			return err
		}
	}
	for _, y := range years {
		if err := tx.PutCalendarYear(hallID, y, byYear[y]); err != nil {
			return err
		}
	}
	return nil
}

// applyBookings adds the bookings the edge lacks and cancels those the
// city cancelled while still booked at the edge; check-ins and no-shows
// are the edge's.
func applyBookings(tx Tx, bookings []ConfigBooking) error {
	for _, cb := range bookings {
		b := cb.Booking
		b.PersonKey, b.PhoneKey, b.NameSealed, b.PhoneSealed, b.IDSealed = cb.PersonKey, cb.PhoneKey, cb.NameSealed, cb.PhoneSealed, cb.IDSealed
		b.Pass, b.TicketStatus = "", ""
		cur, err := tx.BookingByCode(b.Code)
		if IsNotFound(err) {
			if b.Status == BookingCheckedIn || b.Status == BookingNoShow {
				b.Status, b.CheckedInAt, b.NoShowAt, b.TicketID, b.TicketNumber = BookingBooked, nil, nil, "", ""
			}
			if err := tx.InsertBooking(&b); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		if b.Status == BookingCancelled && cur.Status == BookingBooked {
			cur.Status, cur.CancelledAt, cur.ReleasedAt = BookingCancelled, b.CancelledAt, b.ReleasedAt
			if err := tx.UpdateBooking(cur); err != nil {
				return err
			}
		}
	}
	return nil
}
