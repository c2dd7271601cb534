package civiq

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// Calling policies a hall may choose.
const (
	// PolicyFIFO calls the longest-waiting ticket among every service the
	// counter serves.
	PolicyFIFO = "fifo"
	// PolicyServiceOrder empties the counter's first service before its
	// second, and so on.
	PolicyServiceOrder = "service-order"
)

// DefaultPriorityGroups are the green-channel (绿色通道) groups served first.
// Each hall keeps its own list; this is what a new hall starts with.
var DefaultPriorityGroups = []string{"elderly", "disabled", "military", "pregnancy", "seriously_ill", "martyr_family", "fire_rescue"}

// GroupDocument is the document a clerk checks for a green-channel group,
// in Chinese and English.
type GroupDocument struct {
	Zh string `json:"zh"`
	En string `json:"en"`
}

// groupDocuments are the documents to check for the default green-channel
// groups; a group a hall added itself has none.
var groupDocuments = map[string]GroupDocument{
	"elderly":       {"身份证（看年龄）", "ID card, showing age"},
	"disabled":      {"残疾人证", "Disability certificate"},
	"military":      {"军人证或优待证", "Military ID or preferential treatment card"},
	"pregnancy":     {"母子健康手册", "Maternal and child health handbook"},
	"seriously_ill": {"病历或诊断证明", "Medical record or diagnosis certificate"},
	"martyr_family": {"烈士证明书或烈属优待证", "Martyr's certificate or martyr's family card"},
	"fire_rescue":   {"消防救援人员证", "Fire and rescue service ID"},
}

// DocumentFor gives the document to check for a green-channel group, and
// whether there is one.
func DocumentFor(group string) (GroupDocument, bool) {
	d, ok := groupDocuments[group]
	return d, ok
}

// Hall is one service hall. Admins create and change it; everything else in
// civiq belongs to exactly one hall. Times of the hall are its local times.
type Hall struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	NameEn   string `json:"name_en,omitempty"`
	Timezone string `json:"timezone"`
	// OpensAt and ClosesAt are local "HH:MM"; empty means always open.
	OpensAt  string `json:"opens_at,omitempty"`
	ClosesAt string `json:"closes_at,omitempty"`
	Policy   string `json:"policy"`
	// MaxCalls is how many times a ticket may be called before a further
	// recall turns it into a no-show.
	MaxCalls int `json:"max_calls"`
	// LateReturnBehind is how many waiting tickets a late arrival is put
	// behind when a no-show ticket comes back.
	LateReturnBehind int      `json:"late_return_behind"`
	PriorityGroups   []string `json:"priority_groups"`
	// AllowRemote lets anyone take a ticket with channel "remote".
	AllowRemote   bool   `json:"allow_remote"`
	VoiceTemplate string `json:"voice_template,omitempty"`
	// MaxRemoteWaiting is the most remote tickets that may wait in one
	// service at once; RemotePerPhone how many of them one phone may hold
	// (ticket.go, IssueTicket).
	MaxRemoteWaiting int `json:"max_remote_waiting"`
	RemotePerPhone   int `json:"remote_per_phone"`
	// ElderAge is the age from which a citizen who shows a resident ID
	// gets the green channel's ElderGroup without asking (greenage.go).
	ElderAge int `json:"elder_age"`
}

// Defaults and bounds of a hall's remote tickets.
const (
	DefaultMaxRemoteWaiting = 100
	MaxMaxRemoteWaiting     = 10000
	DefaultRemotePerPhone   = 1
	MaxRemotePerPhone       = 10
)

// DefaultLateReturnBehind is how many waiting tickets a late arrival goes
// behind unless the hall says otherwise; 0 (straight to the front) is a
// valid choice, so it is not filled in by Defaults.
const DefaultLateReturnBehind = 3

// Defaults fills the settings a new hall has unless told otherwise.
func (h *Hall) Defaults() {
	if h.Timezone == "" {
		h.Timezone = "Asia/Shanghai"
	}
	if h.Policy == "" {
		h.Policy = PolicyFIFO
	}
	if h.MaxCalls == 0 {
		h.MaxCalls = 3
	}
	if h.PriorityGroups == nil {
		h.PriorityGroups = append([]string(nil), DefaultPriorityGroups...)
	}
	if h.VoiceTemplate == "" {
		h.VoiceTemplate = "请{number}号到{counter}号窗口办理"
	}
	if h.MaxRemoteWaiting == 0 {
		h.MaxRemoteWaiting = DefaultMaxRemoteWaiting
	}
	if h.RemotePerPhone == 0 {
		h.RemotePerPhone = DefaultRemotePerPhone
	}
	if h.ElderAge == 0 {
		h.ElderAge = DefaultElderAge
	}
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,39}$`)

// ValidID reports whether s may be used as the id of a hall, service,
// counter or device: lower-case letters, digits, '-' and '_', 1 to 40 long.
func ValidID(s string) bool { return idPattern.MatchString(s) }

// Validate checks the hall's fields and names the first that is wrong.
func (h *Hall) Validate() error {
	if !ValidID(h.ID) {
		return FieldErrorf("id", "id must be 1-40 lower-case letters, digits, '-' or '_'")
	}
	if h.Name == "" {
		return FieldErrorf("name", "name is required")
	}
	// LoadLocation takes "" for UTC and "Local" for the server's zone;
	// neither is a hall's time zone.
	if _, err := time.LoadLocation(h.Timezone); err != nil || h.Timezone == "" || h.Timezone == "Local" {
		return FieldErrorf("timezone", "unknown timezone %q", h.Timezone)
	}
	if h.Policy != PolicyFIFO && h.Policy != PolicyServiceOrder {
		return FieldErrorf("policy", "policy must be %q or %q", PolicyFIFO, PolicyServiceOrder)
	}
	if h.MaxCalls < 1 || h.MaxCalls > 10 {
		return FieldErrorf("max_calls", "max_calls must be 1..10")
	}
	if h.LateReturnBehind < 0 || h.LateReturnBehind > 100 {
		return FieldErrorf("late_return_behind", "late_return_behind must be 0..100")
	}
	if h.MaxRemoteWaiting < 1 || h.MaxRemoteWaiting > MaxMaxRemoteWaiting {
		return FieldErrorf("max_remote_waiting", "max_remote_waiting must be 1..%d", MaxMaxRemoteWaiting)
	}
	if h.RemotePerPhone < 1 || h.RemotePerPhone > MaxRemotePerPhone {
		return FieldErrorf("remote_per_phone", "remote_per_phone must be 1..%d", MaxRemotePerPhone)
	}
	if h.ElderAge < MinElderAge || h.ElderAge > MaxElderAge {
		return FieldErrorf("elder_age", "elder_age must be %d..%d", MinElderAge, MaxElderAge)
	}
	for _, f := range []struct{ name, v string }{{"opens_at", h.OpensAt}, {"closes_at", h.ClosesAt}} {
		if f.v == "" {
			continue
		}
		if _, err := time.Parse("15:04", f.v); err != nil {
			return FieldErrorf(f.name, "%s must be HH:MM", f.name)
		}
	}
	return nil
}

// Location returns the hall's time zone; an unknown zone falls back to
// Asia/Shanghai, which Validate prevents in the first place.
func (h *Hall) Location() *time.Location {
	if loc, err := loadLocation(h.Timezone); err == nil {
		return loc
	}
	loc, _ := loadLocation("Asia/Shanghai")
	return loc
}

// Day is the hall's local calendar day of t, as "2006-01-02". Ticket
// numbering restarts when it changes.
func (h *Hall) Day(t time.Time) string { return t.In(h.Location()).Format(time.DateOnly) }

// DayBounds returns the start of the hall's local day holding t and the
// start of the next one; days are not always 24 hours long where clocks
// change.
func (h *Hall) DayBounds(t time.Time) (from, to time.Time) {
	l := t.In(h.Location())
	from = time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, l.Location())
	to = time.Date(l.Year(), l.Month(), l.Day()+1, 0, 0, 0, 0, l.Location())
	return from, to
}

// OpenAt reports whether the hall is open at t by its opening hours; a hall
// without hours is always open.
func (h *Hall) OpenAt(t time.Time) bool {
	if h.OpensAt == "" || h.ClosesAt == "" {
		return true
	}
	now := t.In(h.Location()).Format("15:04")
	if h.OpensAt <= h.ClosesAt {
		return now >= h.OpensAt && now < h.ClosesAt
	}
	return now >= h.OpensAt || now < h.ClosesAt // open across midnight
}

// NameIn is the hall's name in a page's language (inLang).
func (h *Hall) NameIn(lang string) string {
	name, _ := inLang(lang, h.Name, h.NameEn)
	return name
}

// inLang gives a name in a page's language and the name in the other one:
// the English name when lang is "en" and there is one, else the Chinese
// name, the other being the English name then (empty when there is none).
func inLang(lang, zh, en string) (name, other string) {
	if lang == "en" && en != "" {
		return en, zh
	}
	return zh, en
}

// HasPriorityGroup reports whether the hall's green channel admits group.
func (h *Hall) HasPriorityGroup(group string) bool {
	for _, g := range h.PriorityGroups {
		if g == group {
			return true
		}
	}
	return false
}

// Service is one kind of business a hall does (综合受理, 不动产登记...), with
// the letter its ticket numbers start with. Admins manage it.
type Service struct {
	HallID string `json:"-"`
	ID     string `json:"id"`
	Prefix string `json:"prefix"`
	Name   string `json:"name"`
	NameEn string `json:"name_en"`
	// Position orders services on screens.
	Position int `json:"-"`
	// Quotas (quota.go): the most tickets a day, a half-day and one
	// person a day; 0 is no limit.
	DailyQuota     int `json:"daily_quota"`
	HalfDayQuota   int `json:"half_day_quota"`
	PerPersonDaily int `json:"per_person_daily"`
	// Service level (alert.go): the target wait in minutes (0: the
	// dashboard's target) and the wait at which the service's alert is
	// raised (0: no alert).
	TargetWaitMinutes int `json:"target_wait_minutes"`
	AlertWaitMinutes  int `json:"alert_wait_minutes"`
}

// NameIn is the service's name in a page's language (inLang).
func (s *Service) NameIn(lang string) string {
	name, _ := inLang(lang, s.Name, s.NameEn)
	return name
}

// Names is the service's name in a page's language and in the other one
// (inLang), for a screen that shows both.
func (s *Service) Names(lang string) (name, other string) { return inLang(lang, s.Name, s.NameEn) }

// HallTx is what a store keeps of halls and their services (sqlstore/halls.go).
type HallTx interface {
	Halls() ([]Hall, error)
	Hall(id string) (*Hall, error)
	PutHall(h *Hall) error
	// SettingsChanged tells the other nodes, once committed, that a hall's
	// settings, services or rating settings changed, so that they read
	// them again (PostgreSQL: a notification); on one node it does nothing.
	SettingsChanged(hallID string) error

	Services(hallID string) ([]Service, error)
	Service(hallID, id string) (*Service, error)
	PutService(s *Service) error
	DeleteService(hallID, id string) error
}

var prefixPattern = regexp.MustCompile(`^[A-Z]{1,2}$`)

// Validate checks the service's fields.
func (s *Service) Validate() error {
	if !ValidID(s.ID) {
		return FieldErrorf("id", "id must be 1-40 lower-case letters, digits, '-' or '_'")
	}
	if !prefixPattern.MatchString(s.Prefix) {
		return FieldErrorf("prefix", "prefix must be one or two capital letters")
	}
	if s.Name == "" {
		return FieldErrorf("name", "name is required")
	}
	if err := s.validateQuotas(); err != nil {
		return err
	}
	return s.validateLevels()
}

// FormatNumber gives the ticket number for the n-th ticket of a service on a
// day: the prefix and at least three digits (A001, A999, A1000). Every
// ticket is numbered in the single writer, so without fmt.
func FormatNumber(prefix string, n int) string {
	var buf [32]byte
	b := append(buf[:0], prefix...)
	switch {
	case n < 0:
		return fmt.Sprintf("%s%03d", prefix, n) // never a ticket's
	case n < 10:
		b = append(b, '0', '0')
	case n < 100:
		b = append(b, '0')
	}
	return string(strconv.AppendInt(b, int64(n), 10))
}

// HallLayout is a hall with its services and its counters, in their order
// on screen.
type HallLayout struct {
	Hall     *Hall
	Services []Service
	Counters []Counter
}

// Counter finds one of the hall's counters.
func (l *HallLayout) Counter(id string) (*Counter, error) {
	for i := range l.Counters {
		if l.Counters[i].ID == id {
			return &l.Counters[i], nil
		}
	}
	return nil, Errorf(ENotFound, "no counter %s in hall %s", id, l.Hall.ID)
}

// Halls returns every hall, by id.
func (e *Engine) Halls(ctx context.Context) ([]Hall, error) {
	var out []Hall
	err := e.store.View(ctx, func(tx Tx) (err error) { out, err = tx.Halls(); return })
	return out, err
}

// HallsLaidOut returns every hall, by id, with its counters (not its
// services).
func (e *Engine) HallsLaidOut(ctx context.Context) ([]HallLayout, error) {
	var out []HallLayout
	err := e.store.View(ctx, func(tx Tx) error {
		hs, err := tx.Halls()
		if err != nil {
			return err
		}
		out = make([]HallLayout, len(hs))
		for i := range hs {
			cs, err := tx.Counters(hs[i].ID)
			if err != nil {
				return err
			}
			out[i] = HallLayout{Hall: &hs[i], Counters: cs}
		}
		return nil
	})
	return out, err
}

// Hall returns a hall's settings, kept for a moment (caches.go).
func (e *Engine) Hall(ctx context.Context, id string) (*Hall, error) {
	s, err := e.hallSettings(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.ownHall(), nil
}

// Services returns a hall's services in their order on screen; an unknown
// hall is not_found.
func (e *Engine) Services(ctx context.Context, hallID string) ([]Service, error) {
	s, err := e.hallSettings(ctx, hallID)
	if err != nil {
		return nil, err
	}
	return slices.Clone(s.list), nil
}

// Counters returns a hall's counters in their order on screen; an unknown
// hall is not_found.
func (e *Engine) Counters(ctx context.Context, hallID string) ([]Counter, error) {
	l, err := e.Layout(ctx, hallID)
	if err != nil {
		return nil, err
	}
	return l.Counters, nil
}

// Layout returns a hall with its services and its counters; the hall and
// its services from the cache (caches.go).
func (e *Engine) Layout(ctx context.Context, hallID string) (*HallLayout, error) {
	s, err := e.hallSettings(ctx, hallID)
	if err != nil {
		return nil, err
	}
	l := &HallLayout{Hall: s.ownHall(), Services: slices.Clone(s.list)}
	if err := e.store.View(ctx, func(tx Tx) (err error) { l.Counters, err = tx.Counters(hallID); return }); err != nil {
		return nil, err
	}
	return l, nil
}

// hallLayout reads a hall with its services and its counters, in their
// order on screen (the counters' DeviceCalls set by the store).
func hallLayout(tx Tx, hallID string) (*Hall, []Service, []Counter, error) {
	h, err := tx.Hall(hallID)
	if err != nil {
		return nil, nil, nil, err
	}
	svcs, err := tx.Services(hallID)
	if err != nil {
		return nil, nil, nil, err
	}
	cs, err := tx.Counters(hallID)
	if err != nil {
		return nil, nil, nil, err
	}
	return h, svcs, cs, nil
}

// RecentCall is a call on the hall's screens: the ticket's public view
// and when it was called.
type RecentCall struct {
	PublicTicket
	CalledAt time.Time `json:"called_at"`
}

// HallStatus is the public state of a hall: tickets by number only, no
// ticket id, priority group or personal data.
type HallStatus struct {
	Waiting     map[string]int `json:"waiting"`
	Counters    []CounterState `json:"counters"`
	RecentCalls []RecentCall   `json:"recent_calls"`
}

// CounterState is a counter and the number it serves now.
type CounterState struct {
	Counter
	CurrentNumber string `json:"current_number,omitempty"`
}

// Status returns the public state of a hall.
func (e *Engine) Status(ctx context.Context, hallID string) (*HallStatus, error) {
	st := &HallStatus{}
	err := e.store.View(ctx, func(tx Tx) error {
		_, svcs, cs, err := hallLayout(tx, hallID)
		if err != nil {
			return err
		}
		if st.Waiting, err = tx.WaitingCounts(hallID); err != nil {
			return err
		}
		for _, s := range svcs {
			if _, ok := st.Waiting[s.ID]; !ok {
				st.Waiting[s.ID] = 0
			}
		}
		st.Counters = make([]CounterState, 0, len(cs))
		for _, c := range cs {
			cst := CounterState{Counter: c.Public()}
			if c.CurrentTicketID != "" {
				if t, err := tx.Ticket(c.CurrentTicketID); err == nil {
					cst.CurrentNumber = t.Number
				}
			}
			st.Counters = append(st.Counters, cst)
		}
		calls, err := tx.RecentCalls(hallID, 8)
		if err != nil {
			return err
		}
		st.RecentCalls = make([]RecentCall, 0, len(calls))
		for _, t := range calls {
			st.RecentCalls = append(st.RecentCalls, RecentCall{PublicTicket: t.Public(), CalledAt: *t.CalledAt})
		}
		return nil
	})
	return st, err
}

// SaveHall creates a hall or changes its settings; only admins do this.
func (e *Engine) SaveHall(ctx context.Context, h *Hall) error {
	if err := e.Refuse(ctx, WorkHallSettings, h.ID); err != nil { // edge.go: the city owns it
		return err
	}
	h.Defaults()
	if err := h.Validate(); err != nil {
		return err
	}
	// Engine.update clears what the engine keeps of the hall (caches.go).
	return e.update(ctx, func(tx Tx) error {
		if err := tx.PutHall(h); err != nil {
			return err
		}
		return e.configChanged(tx, WorkHallSettings, h.ID)
	})
}

// KeepQuotas names the quotas and service-level settings a saved service
// keeps from the stored one (a PUT that leaves the field out), instead of
// taking s's; a new service has none to keep, so they are 0: no limit,
// the dashboard's target, no alert.
type KeepQuotas struct{ Daily, HalfDay, PerPerson, TargetWait, AlertWait bool }

// SaveService creates or changes a service of a hall. Prefixes are unique in
// a hall, since numbers are. The settings named in keep stay as stored;
// s holds them after the save.
func (e *Engine) SaveService(ctx context.Context, s *Service, keep KeepQuotas) error {
	if err := e.Refuse(ctx, WorkServices, s.HallID); err != nil { // edge.go: the city owns it
		return err
	}
	if err := s.Validate(); err != nil {
		return err
	}
	return e.update(ctx, func(tx Tx) error {
		if _, err := tx.Hall(s.HallID); err != nil {
			return err
		}
		svcs, err := tx.Services(s.HallID)
		if err != nil {
			return err
		}
		for _, o := range svcs {
			if o.ID == s.ID {
				s.keepQuotas(&o, keep)
				s.keepLevels(&o, keep)
			} else if o.Prefix == s.Prefix {
				return &Error{Code: EConflict, Field: "prefix", Message: "prefix " + s.Prefix + " is already used by " + o.ID}
			}
		}
		if err := tx.PutService(s); err != nil {
			return err
		}
		return e.configChanged(tx, WorkServices, s.HallID)
	})
}

// HallSetup is everything an admin edits about one hall, read at once.
type HallSetup struct {
	Hall     *Hall            `json:"hall"`
	Services []ServiceSetting `json:"services"`
	Counters []Counter        `json:"counters"`
	Devices  []Device         `json:"devices"`
}

// ServiceSetting is a service with its screen position, which the public
// service list leaves out.
type ServiceSetting struct {
	Service
	Position int `json:"position"`
}

// HallSetup reads a hall with its services, counters and devices.
func (e *Engine) HallSetup(ctx context.Context, hallID string) (*HallSetup, error) {
	out := &HallSetup{}
	err := e.store.View(ctx, func(tx Tx) error {
		h, svcs, cs, err := hallLayout(tx, hallID)
		if err != nil {
			return err
		}
		ds, err := tx.Devices(hallID)
		if err != nil {
			return err
		}
		out.Hall, out.Counters, out.Devices = h, cs, ds
		out.Services = make([]ServiceSetting, len(svcs))
		for i, s := range svcs {
			out.Services[i] = ServiceSetting{s, s.Position}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if out.Counters == nil {
		out.Counters = []Counter{}
	}
	if out.Devices == nil {
		out.Devices = []Device{}
	}
	return out, nil
}

// CallingPolicy is the part of a hall's settings that decides who is called
// next; a hall manager may change it.
type CallingPolicy struct {
	Policy           string `json:"policy"`
	MaxCalls         int    `json:"max_calls"`
	LateReturnBehind int    `json:"late_return_behind"`
}

// SetCallingPolicy changes a hall's calling policy and nothing else.
func (e *Engine) SetCallingPolicy(ctx context.Context, hallID string, p CallingPolicy) (*Hall, error) {
	if err := e.Refuse(ctx, WorkHallSettings, hallID); err != nil { // edge.go: the city owns it
		return nil, err
	}
	var out *Hall
	err := e.update(ctx, func(tx Tx) error {
		h, err := tx.Hall(hallID)
		if err != nil {
			return err
		}
		h.Policy, h.MaxCalls, h.LateReturnBehind = p.Policy, p.MaxCalls, p.LateReturnBehind
		if err := h.Validate(); err != nil {
			return err
		}
		out = h
		if err := tx.PutHall(h); err != nil {
			return err
		}
		return e.configChanged(tx, WorkHallSettings, hallID)
	})
	return out, err
}

// DeleteService removes a service nobody waits for and no counter serves.
// Tickets it gave earlier keep its id, for reports.
func (e *Engine) DeleteService(ctx context.Context, hallID, serviceID string) error {
	if err := e.Refuse(ctx, WorkServices, hallID); err != nil { // edge.go: the city owns it
		return err
	}
	return e.update(ctx, func(tx Tx) error {
		if _, err := tx.Service(hallID, serviceID); err != nil {
			return err
		}
		cs, err := tx.Counters(hallID)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if c.Serves(serviceID) {
				return Errorf(EConflict, "counter %s still serves %s: take it off that counter first", c.ID, serviceID)
			}
			if c.CurrentTicketID != "" {
				t, err := tx.Ticket(c.CurrentTicketID)
				if err != nil && !IsNotFound(err) {
					return err
				}
				if t != nil && t.ServiceID == serviceID && (t.Status == StatusCalled || t.Status == StatusServing) {
					return Errorf(EConflict, "counter %s is serving a ticket of %s", c.ID, serviceID)
				}
			}
		}
		waiting, err := tx.WaitingCounts(hallID)
		if err != nil {
			return err
		}
		if n := waiting[serviceID]; n > 0 {
			return Errorf(EConflict, "%d tickets still wait for %s", n, serviceID)
		}
		if err := tx.DeleteService(hallID, serviceID); err != nil {
			return err
		}
		return e.configChanged(tx, WorkServices, hallID)
	})
}
