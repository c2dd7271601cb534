package civiq

import (
	"context"
	"fmt"
	"time"
)

// The administration page's use cases beyond creating things (admin.go and
// engine.go): one hall's whole setup at a glance, the calling policy a
// hall manager may change, recent announcements, and changing or removing
// users, devices, services and counters. Each change is one transaction.

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
	err := e.Store.View(ctx, func(tx Tx) error {
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
		return tx.PutHall(h)
	})
	return out, err
}

// Announcement is a line once sent to a hall's screens.
type Announcement struct {
	Text string    `json:"text"`
	At   time.Time `json:"at"`
}

// Announcements returns the hall's last n announcements still kept with its
// events, newest first.
func (e *Engine) Announcements(ctx context.Context, hallID string, n int) ([]Announcement, error) {
	out := []Announcement{}
	err := e.Store.View(ctx, func(tx Tx) error {
		if _, err := tx.Hall(hallID); err != nil {
			return err
		}
		evs, err := tx.Announcements(hallID, n)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			out = append(out, Announcement{Text: ev.Text, At: ev.At})
		}
		return nil
	})
	return out, err
}

// DeleteService removes a service nobody waits for and no counter serves.
// Tickets it gave earlier keep its id, for reports.
func (e *Engine) DeleteService(ctx context.Context, hallID, serviceID string) error {
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
		return tx.DeleteService(hallID, serviceID)
	})
}

// DeleteCounter removes a counter that has no ticket called or served and
// no device bound to it. The screens are told it is closed.
func (e *Engine) DeleteCounter(ctx context.Context, hallID, counterID string) error {
	return e.update(ctx, func(tx Tx) error {
		c, err := tx.Counter(hallID, counterID)
		if err != nil {
			return err
		}
		if c.CurrentTicketID != "" {
			return Errorf(EConflict, "counter %s has a ticket called or in service: finish it first", counterID)
		}
		ds, err := tx.Devices(hallID)
		if err != nil {
			return err
		}
		for _, d := range ds {
			if d.CounterID == counterID {
				return Errorf(EConflict, "device %d (%s) is bound to counter %s: remove it first", d.ID, d.Kind, counterID)
			}
		}
		if err := tx.DeleteCounter(hallID, counterID); err != nil {
			return err
		}
		c.Status, c.PauseReason = CounterClosed, ""
		return tx.AppendEvent(&Event{HallID: hallID, Type: EventCounter, At: e.now(), Counter: c})
	})
}

// UserUpdate is what an admin may change about a user. A nil field stays
// as it is; Password, when set, is a new password.
type UserUpdate struct {
	Role     *string
	HallIDs  *[]string
	Password *string
}

// UpdateUser changes a user's role, halls or password. The last admin
// stays an admin. A new password set by someone else signs the user out
// everywhere.
func (e *Engine) UpdateUser(ctx context.Context, actor Principal, username string, upd UserUpdate) (*User, error) {
	var hash string
	if upd.Password != nil {
		if err := ValidatePassword(*upd.Password); err != nil {
			return nil, err
		}
		hash = HashPassword(*upd.Password)
	}
	if upd.Role != nil && !ValidRole(*upd.Role) {
		return nil, FieldErrorf("role", "role must be admin, manager or staff")
	}
	var out *User
	err := e.update(ctx, func(tx Tx) error {
		u, err := tx.User(username)
		if err != nil {
			return err
		}
		wasAdmin := u.Role == RoleAdmin
		if upd.Role != nil {
			u.Role = *upd.Role
		}
		if upd.HallIDs != nil {
			u.HallIDs = append([]string{}, (*upd.HallIDs)...)
		}
		if u.Role == RoleAdmin {
			u.HallIDs = nil // an admin has every hall
		} else {
			if len(u.HallIDs) == 0 {
				return FieldErrorf("hall_ids", "a %s needs at least one hall", u.Role)
			}
			if err := checkHalls(tx, u.HallIDs); err != nil {
				return err
			}
		}
		if wasAdmin && u.Role != RoleAdmin {
			if err := keepAnAdmin(tx, u.ID); err != nil {
				return &Error{Code: EConflict, Field: "role", Message: err.Error()}
			}
		}
		if hash != "" {
			u.PasswordHash = hash
		}
		if err := tx.UpdateUser(u); err != nil {
			return err
		}
		if hash != "" && (actor.User == nil || actor.User.ID != u.ID) {
			if err := tx.DeleteSessions(u.ID); err != nil {
				return err
			}
		}
		out = u
		return nil
	})
	if err != nil {
		return nil, err
	}
	e.auth.dropUser(out.ID)
	return out, nil
}

// DeleteUser removes a user and signs them out. Nobody deletes themselves,
// and the last admin stays.
func (e *Engine) DeleteUser(ctx context.Context, actor Principal, username string) error {
	var id int64
	err := e.update(ctx, func(tx Tx) error {
		u, err := tx.User(username)
		if err != nil {
			return err
		}
		if actor.User != nil && actor.User.ID == u.ID {
			return Errorf(EConflict, "you cannot delete yourself")
		}
		if u.Role == RoleAdmin {
			if err := keepAnAdmin(tx, u.ID); err != nil {
				return Errorf(EConflict, "%s", err.Error())
			}
		}
		id = u.ID
		return tx.DeleteUser(u.ID)
	})
	if err != nil {
		return err
	}
	e.auth.dropUser(id)
	return nil
}

// keepAnAdmin fails when the user with id is the only admin.
func keepAnAdmin(tx Tx, id int64) error {
	us, err := tx.Users()
	if err != nil {
		return err
	}
	for _, o := range us {
		if o.Role == RoleAdmin && o.ID != id {
			return nil
		}
	}
	return fmt.Errorf("this is the last admin: make another user an admin first")
}

func checkHalls(tx Tx, halls []string) error {
	seen := map[string]bool{}
	for _, h := range halls {
		if seen[h] {
			return FieldErrorf("hall_ids", "hall %s is listed twice", h)
		}
		seen[h] = true
		if _, err := tx.Hall(h); err != nil {
			if IsNotFound(err) {
				return FieldErrorf("hall_ids", "unknown hall %s", h)
			}
			return err
		}
	}
	return nil
}

// DeleteDevice removes a device of a hall; its token stops working at once.
func (e *Engine) DeleteDevice(ctx context.Context, hallID string, id int64) error {
	var token string
	err := e.update(ctx, func(tx Tx) error {
		d, err := tx.Device(hallID, id)
		if err != nil {
			return err
		}
		token = d.TokenHash
		return tx.DeleteDevice(d.ID)
	})
	if err != nil {
		return err
	}
	if token != "" {
		e.auth.drop(token)
	}
	return nil
}

// NewDeviceCode gives a device a new one-time pairing code, for a device
// replaced or reset: the token it had stops working.
func (e *Engine) NewDeviceCode(ctx context.Context, hallID string, id int64) (*Device, error) {
	var out *Device
	var old string
	err := e.update(ctx, func(tx Tx) error {
		d, err := tx.Device(hallID, id)
		if err != nil {
			return err
		}
		old = d.TokenHash
		d.PairingCode, d.TokenHash, d.PairedAt = NewPairingCode(), "", nil
		out = d
		return tx.UpdateDevice(d)
	})
	if err != nil {
		return nil, err
	}
	if old != "" {
		e.auth.drop(old)
	}
	return out, nil
}

// dropUser forgets every cached session of a user, so a change of role or
// a deletion counts from the next request on.
func (c *authCache) dropUser(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for h, e := range c.m {
		if e.p.User != nil && e.p.User.ID == id {
			delete(c.m, h)
		}
	}
}
