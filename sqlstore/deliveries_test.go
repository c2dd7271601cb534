package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path/filepath"
	"testing"
	"time"

	"github.com/civiq/civiq"
)

// The delivery log keeps a row a record: its tries come back newest first,
// each as written (a message id of its own kept, an event's derived), with
// ids that go down; the records that hold the last DeliveryLogSize tries
// stay, older ones go, and so do those older than the prune's time.
func TestDeliveryLog(t *testing.T) {
	ctx := context.Background()
	s, err := Open(filepath.Join(t.TempDir(), "civiq.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const sub = 7
	t0 := time.Unix(1_800_000_000, 0)
	next := int64(0) // the last event id given
	record := func(n int, tweak func(*civiq.DeliveryAttempt)) {
		t.Helper()
		as := make([]civiq.DeliveryAttempt, n)
		for i := range as {
			next++
			as[i] = civiq.DeliveryAttempt{EventID: next, MessageID: civiq.MessageID(sub, next), At: t0.Add(time.Duration(next) * time.Millisecond),
				Status: 204, Latency: time.Duration(next) * time.Microsecond}
			if tweak != nil {
				tweak(&as[i])
			}
		}
		if err := s.Update(ctx, func(tx civiq.Tx) error { return tx.AppendDeliveries(sub, as) }); err != nil {
			t.Fatal(err)
		}
	}
	log := func(limit int) (out []civiq.DeliveryAttempt) {
		t.Helper()
		if err := s.View(ctx, func(tx civiq.Tx) (err error) { out, err = tx.Deliveries(sub, limit); return }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	record(600, nil)
	record(300, nil)
	record(1, func(a *civiq.DeliveryAttempt) {
		a.EventID, a.MessageID, a.Status, a.Error = 0, "msg_test_1", 0, `connect: "refused" 拒绝 \ end`
	})
	if got := log(2000); len(got) != 901 {
		t.Fatalf("%d tries, want 901", len(got))
	}
	record(200, nil)
	record(500, nil) // the newest 1,001 tries are in the last four records: the first goes
	got := log(2000)
	if len(got) != 1001 {
		t.Fatalf("%d tries kept, want 1001", len(got))
	}
	for i, a := range got {
		if i > 0 && a.ID >= got[i-1].ID {
			t.Fatalf("try %d: id %d after %d", i, a.ID, got[i-1].ID)
		}
		if a.SubscriberID != sub {
			t.Fatalf("try %d: subscriber %d", i, a.SubscriberID)
		}
		if a.EventID == 0 {
			if a.MessageID != "msg_test_1" || a.Status != 0 || a.Error != `connect: "refused" 拒绝 \ end` {
				t.Errorf("the test try: %+v", a)
			}
			continue
		}
		want := civiq.DeliveryAttempt{ID: a.ID, SubscriberID: sub, EventID: a.EventID, MessageID: civiq.MessageID(sub, a.EventID),
			At: t0.Add(time.Duration(a.EventID) * time.Millisecond), Status: 204, Latency: time.Duration(a.EventID) * time.Microsecond,
			LatencyMS: float64(a.EventID) / 1000}
		if !a.At.Equal(want.At) || fmt.Sprint(a.MessageID, a.Status, a.Latency, a.LatencyMS, a.Error) != fmt.Sprint(want.MessageID, want.Status, want.Latency, want.LatencyMS, "") {
			t.Errorf("try %d: %+v, want %+v", i, a, want)
		}
	}
	if got[0].EventID != next || got[1000].EventID != 601 {
		t.Errorf("newest %d, oldest %d; want %d and 601", got[0].EventID, got[1000].EventID, next)
	}
	if l := log(200); len(l) != 200 || l[0].ID != got[0].ID || l[199].ID != got[199].ID {
		t.Errorf("the last 200: %d tries", len(l))
	}
	// A record whose first try is older than the prune's time goes, at
	// most limit of them a call, the oldest first.
	prune := func(limit int) (n int) {
		t.Helper()
		if err := s.Update(ctx, func(tx civiq.Tx) (err error) {
			n, err = tx.PruneDeliveries(t0.Add(902*time.Millisecond), limit)
			return
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := prune(1); n != 1 {
		t.Errorf("a prune of at most 1 forgot %d records", n)
	}
	if l := log(2000); len(l) != 701 || l[700].EventID != 0 {
		t.Errorf("after a prune of 1: %d tries, want the oldest record's 300 gone", len(l))
	}
	if n := prune(1000); n != 1 {
		t.Errorf("the second prune forgot %d records, want the one old left", n)
	}
	if n := prune(1000); n != 0 {
		t.Errorf("a prune with nothing old forgot %d", n)
	}
	if l := log(2000); len(l) != 700 || l[699].EventID != 902 {
		t.Errorf("after the prune: %d tries", len(l))
	}
	if err := s.Update(ctx, func(tx civiq.Tx) error { return tx.DeleteSubscriber(sub) }); err != nil {
		t.Fatal(err)
	}
	if l := log(10); len(l) != 0 {
		t.Errorf("a deleted subscriber's log: %d tries", len(l))
	}
}

// The tries logged before the log kept a row a record come along.
func TestDeliveryLogUpgrade(t *testing.T) {
	names, _ := fs.Glob(SQLite.Migrations, "*.sql")
	k := 0
	for i, n := range names {
		if n == "0029_delivery_log.sql" {
			k = i
		}
	}
	path := filepath.Join(t.TempDir(), "old.db")
	w, _ := sql.Open("sqlite", DSN(path, Options{}))
	r, _ := sql.Open("sqlite", DSN(path, Options{}))
	old, err := OpenDB(w, r, upTo(t, SQLite, k))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.write.Exec(`INSERT INTO deliveries (subscriber_id, event_id, message_id, at, status, latency_us, error)
		VALUES (3, 41, 'msg_3_41', 5, 500, 1500, 'answered "500"'), (3, 41, 'msg_3_41', 6, 204, 900, '')`); err != nil {
		t.Fatal(err)
	}
	old.Close()
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var got []civiq.DeliveryAttempt
	if err := s.View(context.Background(), func(tx civiq.Tx) (err error) { got, err = tx.Deliveries(3, 10); return }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Status != 204 || got[0].At.UnixNano() != 6 || got[1].Error != `answered "500"` ||
		got[1].MessageID != "msg_3_41" || got[1].Latency != 1500*time.Microsecond || got[1].EventID != 41 {
		t.Errorf("after the upgrade: %+v", got)
	}
}

func TestIsMessageID(t *testing.T) {
	for _, tc := range []struct {
		sub, ev int64
		id      string
	}{{7, 41, civiq.MessageID(7, 41)}, {7, 41, "msg_7_4"}, {7, 41, "msg_7_411"}, {12, 0, civiq.MessageID(12, 0)}, {1, 2, "test"}} {
		if got, want := isMessageID(tc.id, tc.sub, tc.ev), tc.id == civiq.MessageID(tc.sub, tc.ev); got != want {
			t.Errorf("%q of %d, %d: %v", tc.id, tc.sub, tc.ev, got)
		}
	}
	if n := testing.AllocsPerRun(100, func() { isMessageID("msg_7_41", 7, 41) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

// BenchmarkAppendDeliveries: a worker's record of 1,024 acknowledged
// tries (outbound.RecordMost), in one write.
func BenchmarkAppendDeliveries(b *testing.B) {
	ctx := context.Background()
	s, err := Open(filepath.Join(b.TempDir(), "civiq.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const sub = 7
	t0 := time.Unix(1_800_000_000, 0)
	as := make([]civiq.DeliveryAttempt, 1024)
	next := int64(1_000_000)
	b.ReportAllocs()
	for b.Loop() {
		for i := range as {
			next++
			as[i] = civiq.DeliveryAttempt{EventID: next, MessageID: civiq.MessageID(sub, next), At: t0.Add(time.Duration(next) * time.Millisecond),
				Status: 204, Latency: 1500 * time.Microsecond}
		}
		if err := s.Update(ctx, func(tx civiq.Tx) error { return tx.AppendDeliveries(sub, as) }); err != nil {
			b.Fatal(err)
		}
	}
}
