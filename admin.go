package civiq

import (
	"context"
	"unicode/utf8"
)

// SaveHall creates a hall or changes its settings; only admins do this.
func (e *Engine) SaveHall(ctx context.Context, h *Hall) error {
	h.Defaults()
	if err := h.Validate(); err != nil {
		return err
	}
	// Engine.update clears what the engine keeps of the hall (caches.go).
	return e.update(ctx, func(tx Tx) error { return tx.PutHall(h) })
}

// SaveService creates or changes a service of a hall. Prefixes are unique in
// a hall, since numbers are.
func (e *Engine) SaveService(ctx context.Context, s *Service) error {
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
			if o.ID != s.ID && o.Prefix == s.Prefix {
				return &Error{Code: EConflict, Field: "prefix", Message: "prefix " + s.Prefix + " is already used by " + o.ID}
			}
		}
		return tx.PutService(s)
	})
}

// SaveCounter creates a counter or changes its name and services; its status
// and current ticket stay as they are.
func (e *Engine) SaveCounter(ctx context.Context, c *Counter) error {
	if !ValidID(c.ID) {
		return FieldErrorf("id", "id must be 1-40 lower-case letters, digits, '-' or '_'")
	}
	if c.Name == "" {
		c.Name = c.ID
	}
	if utf8.RuneCountInString(c.Name) > 40 {
		return FieldErrorf("name", "name is at most 40 characters")
	}
	if len(c.ServiceIDs) == 0 {
		return FieldErrorf("service_ids", "a counter serves at least one service")
	}
	return e.update(ctx, func(tx Tx) error {
		if _, err := tx.Hall(c.HallID); err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, s := range c.ServiceIDs {
			if seen[s] {
				return FieldErrorf("service_ids", "service %s is listed twice", s)
			}
			seen[s] = true
			if _, err := tx.Service(c.HallID, s); err != nil {
				if IsNotFound(err) {
					return FieldErrorf("service_ids", "unknown service %s", s)
				}
				return err
			}
		}
		c.Status = CounterOpen
		if old, err := tx.Counter(c.HallID, c.ID); err == nil {
			c.Status, c.PauseReason, c.CurrentTicketID = old.Status, old.PauseReason, old.CurrentTicketID
		} else if !IsNotFound(err) {
			return err
		}
		if err := tx.PutCounter(c); err != nil {
			return err
		}
		return tx.AppendEvent(&Event{HallID: c.HallID, Type: EventCounter, At: e.now(), Counter: c})
	})
}
