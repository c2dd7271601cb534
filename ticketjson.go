package civiq

import (
	"encoding/json"
	"strconv"
	"time"
)

// A ticket is encoded in every answer that issues, calls or moves one and
// in every event row written: AppendJSON writes the bytes encoding/json
// writes for it (the same field names, order and omissions, the same
// HTML-safe escapes), without reflection and without the scan of its
// bytes that encoding/json gives a MarshalJSON method's answer (which
// made a MarshalJSON slower than reflection). FuzzTicketJSON holds the
// two to the same bytes.

// AppendJSON appends t's JSON to b, byte for byte what encoding/json
// writes for it. ok is false, and b is then to be thrown away, when a
// time cannot be written as RFC 3339 (a year past 9999): encoding/json
// refuses those too.
func (t *Ticket) AppendJSON(b []byte) (_ []byte, ok bool) {
	b = append(b, `{"id":`...)
	b = AppendJSONString(b, t.ID)
	b = append(b, `,"hall_id":`...)
	b = AppendJSONString(b, t.HallID)
	b = append(b, `,"service_id":`...)
	b = AppendJSONString(b, t.ServiceID)
	b = append(b, `,"number":`...)
	b = AppendJSONString(b, t.Number)
	b = append(b, `,"channel":`...)
	b = AppendJSONString(b, t.Channel)
	b = append(b, `,"priority":`...)
	b = AppendJSONString(b, t.Priority)
	if t.PriorityGroup != "" {
		b = append(b, `,"priority_group":`...)
		b = AppendJSONString(b, t.PriorityGroup)
	}
	if t.PriorityBy != "" {
		b = append(b, `,"priority_by":`...)
		b = AppendJSONString(b, t.PriorityBy)
	}
	if t.OnBehalf != nil {
		b = append(b, `,"on_behalf":{"role":`...)
		b = AppendJSONString(b, t.OnBehalf.Role)
		b = append(b, '}')
	}
	b = append(b, `,"status":`...)
	b = AppendJSONString(b, t.Status)
	b = append(b, `,"issued_at":`...)
	if b, ok = appendJSONTime(b, t.IssuedAt); !ok {
		return b, false
	}
	b = append(b, `,"called_at":`...)
	if t.CalledAt == nil {
		b = append(b, "null"...)
	} else if b, ok = appendJSONTime(b, *t.CalledAt); !ok {
		return b, false
	}
	for _, f := range [...]struct {
		key string
		at  *time.Time
	}{{`,"serving_at":`, t.ServingAt}, {`,"done_at":`, t.DoneAt}, {`,"no_show_at":`, t.NoShowAt}, {`,"cancelled_at":`, t.CancelledAt}} {
		if f.at == nil {
			continue
		}
		b = append(b, f.key...)
		if b, ok = appendJSONTime(b, *f.at); !ok {
			return b, false
		}
	}
	if t.CounterID != "" {
		b = append(b, `,"counter_id":`...)
		b = AppendJSONString(b, t.CounterID)
	}
	b = append(b, `,"call_count":`...)
	b = strconv.AppendInt(b, int64(t.CallCount), 10)
	b = append(b, `,"position":`...)
	b = appendJSONInt(b, t.Position)
	b = append(b, `,"eta_seconds":`...)
	b = appendJSONInt(b, t.ETASeconds)
	if t.GuideID != "" {
		b = append(b, `,"guide_id":`...)
		b = AppendJSONString(b, t.GuideID)
	}
	if t.ForCounter != "" {
		b = append(b, `,"for_counter":`...)
		b = AppendJSONString(b, t.ForCounter)
	}
	return append(b, '}'), true
}

// appendJSONInt appends *n, or null.
func appendJSONInt(b []byte, n *int) []byte {
	if n == nil {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, int64(*n), 10)
}

// appendJSONTime appends t as time.Time's MarshalJSON does; false when
// it cannot (it errs there).
func appendJSONTime(b []byte, t time.Time) ([]byte, bool) {
	b = append(b, '"')
	b, err := t.AppendText(b) // the same strict RFC 3339 as MarshalJSON
	if err != nil {
		return b, false
	}
	return append(b, '"'), true
}

// AppendJSONString appends s quoted, as encoding/json quotes it (the
// store's delivery log writes its strings with it too). Printable ASCII other than the
// characters encoding/json escapes (quote, backslash, and <, > and &
// for HTML) goes as it is; any other string is quoted by encoding/json
// itself, so the escapes stay its own.
func AppendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// AppendJSON appends d's JSON to b, byte for byte what encoding/json
// writes for it: a ticket's event (a ticket, maybe a text or reason,
// nothing else) without reflection, any other by encoding/json. An event
// row's data is one (a store may write it with this instead of
// json.Marshal: a few microseconds less a ticket in the writer).
func (d EventData) AppendJSON(b []byte) ([]byte, error) {
	plain := func() ([]byte, error) {
		j, err := json.Marshal(d)
		return append(b, j...), err
	}
	if d.Counter != nil || d.FollowUp != nil || d.Booking != nil || d.Case != nil || d.Alert != nil {
		return plain()
	}
	n := len(b)
	out := append(b, '{')
	if d.Ticket != nil {
		var ok bool
		if out, ok = d.Ticket.AppendJSON(append(out, `"ticket":`...)); !ok {
			return plain()
		}
	}
	if d.Text != "" {
		if len(out) > n+1 {
			out = append(out, ',')
		}
		out = AppendJSONString(append(out, `"text":`...), d.Text)
	}
	if d.Reason != "" {
		if len(out) > n+1 {
			out = append(out, ',')
		}
		out = AppendJSONString(append(out, `"reason":`...), d.Reason)
	}
	return append(out, '}'), nil
}
