package civiq_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/civiq/civiq"
)

// FuzzTicketJSON holds Ticket.AppendJSON and EventData.AppendJSON to
// encoding/json's bytes for the same values: any strings (escapes, HTML,
// invalid UTF-8), times in any zone (a year or offset RFC 3339 cannot
// write: both refuse), fields set or left out.
func FuzzTicketJSON(f *testing.F) {
	f.Add("01JEXAMPLE", "demo", "A001", "<b>&\"\\\n\u2028é\xff", int64(1733472000), int64(123456789), 8*3600, 3, uint16(0x1ff))
	f.Add("", "", "", "", int64(0), int64(0), 0, 0, uint16(0))
	f.Add("id", "hall", "n", "x", int64(253402300800), int64(0), 0, -1, uint16(0xffff)) // the year 10000
	f.Add("id", "hall", "n", "x", int64(1), int64(1), 24*3600, 1, uint16(0xffff))       // an offset of 24 hours
	f.Fuzz(func(t *testing.T, id, hall, number, text string, sec, nsec int64, offset, n int, set uint16) {
		at := time.Unix(sec, nsec).In(time.FixedZone("z", offset))
		later := at.Add(time.Duration(n) * time.Second)
		on := func(bit int) bool { return set&(1<<bit) != 0 }
		tk := &civiq.Ticket{ID: id, HallID: hall, ServiceID: text, Number: number, Channel: civiq.ChannelKiosk,
			Priority: civiq.PriorityNormal, Status: civiq.StatusWaiting, IssuedAt: at, QueuedAt: at, CallCount: n}
		if on(0) {
			tk.PriorityGroup, tk.PriorityBy = text, number
		}
		if on(1) {
			tk.OnBehalf = &civiq.OnBehalf{Role: text}
		}
		if on(2) {
			tk.CalledAt, tk.CounterID = &later, number
		}
		if on(3) {
			tk.ServingAt, tk.DoneAt = &later, &at
		}
		if on(4) {
			tk.NoShowAt, tk.CancelledAt = &at, &later
		}
		if on(5) {
			tk.Position, tk.ETASeconds = &n, &offset
		}
		if on(6) {
			tk.GuideID, tk.ForCounter = text, id
		}
		want, werr := json.Marshal(tk) // Ticket has no MarshalJSON: reflection
		got, ok := tk.AppendJSON([]byte("x"))
		switch {
		case ok != (werr == nil):
			t.Fatalf("AppendJSON ok %v, encoding/json err %v", ok, werr)
		case ok && !bytes.Equal(got[1:], want):
			t.Fatalf("AppendJSON\n got %s\nwant %s", got[1:], want)
		case ok && got[0] != 'x':
			t.Fatalf("AppendJSON lost what b held: %q", got)
		}
		d := civiq.EventData{Text: id, Reason: text}
		if on(7) {
			d.Ticket = tk
		}
		if on(8) {
			d.Text = ""
		}
		if on(9) {
			d.Reason = ""
		}
		if on(10) {
			d.Counter = &civiq.Counter{ID: number, HallID: hall, ServiceIDs: []string{text}}
		}
		want, werr = json.Marshal(d)
		got, gerr := d.AppendJSON([]byte("x"))
		if (gerr == nil) != (werr == nil) || werr == nil && (got[0] != 'x' || !bytes.Equal(got[1:], want)) {
			t.Fatalf("EventData\n got %s (%v)\nwant %s (%v)", got, gerr, want, werr)
		}
	})
}

// BenchmarkTicketJSON encodes a called ticket's event data, as every call
// writes two of (its done and called events): the ticket by AppendJSON,
// the event's data by AppendJSON, and by encoding/json's reflection.
func BenchmarkTicketJSON(b *testing.B) {
	now := time.Date(2026, 12, 6, 20, 0, 0, 123456789, time.UTC)
	pos := 3
	tk := &civiq.Ticket{ID: "0QX7RKZ1MS3T6Y8A2B4C5D6E", HallID: "demo", ServiceID: "general", Number: "A123", Channel: civiq.ChannelKiosk,
		Priority: civiq.PriorityNormal, Status: civiq.StatusCalled, IssuedAt: now, QueuedAt: now, CalledAt: &now, CounterID: "3", CallCount: 1, Position: &pos}
	for _, name := range []string{"ticket", "event", "reflection"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 1024)
			for b.Loop() {
				var err error
				switch name {
				case "ticket":
					buf, _ = tk.AppendJSON(buf[:0])
				case "event":
					buf, err = civiq.EventData{Ticket: tk}.AppendJSON(buf[:0])
				default:
					_, err = json.Marshal(civiq.EventData{Ticket: tk})
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestTicketJSONEveryField sets every field of a ticket, so that a field
// added to Ticket and not to AppendJSON fails here, not in a client.
func TestTicketJSONEveryField(t *testing.T) {
	var tk civiq.Ticket
	now, one := time.Date(2026, 12, 6, 20, 0, 0, 1, time.UTC), 1
	v := reflect.ValueOf(&tk).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Interface().(type) {
		case string:
			f.SetString("s" + strconv.Itoa(i))
		case int, int64:
			f.SetInt(int64(i))
		case time.Time:
			f.Set(reflect.ValueOf(now))
		case *time.Time:
			f.Set(reflect.ValueOf(&now))
		case *int:
			f.Set(reflect.ValueOf(&one))
		case *civiq.OnBehalf:
			if reflect.TypeFor[civiq.OnBehalf]().NumField() != 1 {
				t.Fatal("OnBehalf has more than its role: write it in AppendJSON")
			}
			f.Set(reflect.ValueOf(&civiq.OnBehalf{Role: "r"}))
		default:
			t.Fatalf("Ticket.%s: a field of type %s: set it here, and write it in AppendJSON", v.Type().Field(i).Name, f.Type())
		}
	}
	want, err := json.Marshal(&tk)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := tk.AppendJSON(nil); !ok || !bytes.Equal(got, want) {
		t.Errorf("AppendJSON\n got %s\nwant %s", got, want)
	}
}
