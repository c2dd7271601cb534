package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/civiq/civiq"
)

var ctx = context.Background()

// openAt opens a store on path and closes it when the test ends.
func openAt(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// publications collects what a store publishes, one slice per commit.
type publications struct {
	mu      sync.Mutex
	batches [][]*civiq.Event
}

func (p *publications) publish(evs []*civiq.Event) {
	p.mu.Lock()
	p.batches = append(p.batches, evs)
	p.mu.Unlock()
}

func (p *publications) all() (events []*civiq.Event, batches int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, b := range p.batches {
		events = append(events, b...)
	}
	return events, len(p.batches)
}

func (p *publications) reset() {
	p.mu.Lock()
	p.batches = nil
	p.mu.Unlock()
}

func putHall(t *testing.T, s *Store, id string) {
	t.Helper()
	h := &civiq.Hall{ID: id, Name: "Hall " + id}
	h.Defaults()
	if err := s.Update(ctx, func(tx civiq.Tx) error { return tx.PutHall(h) }); err != nil {
		t.Fatalf("put hall: %v", err)
	}
}

// hold makes the writer wait inside a write until the returned release is
// called, so that the writes sent meanwhile queue up and go into one commit
// (with the holding write, which runs again when a write of the batch
// fails).
func hold(t *testing.T, s *Store) (release func()) {
	t.Helper()
	started, free, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	var once sync.Once
	go func() {
		done <- s.Update(ctx, func(civiq.Tx) error {
			once.Do(func() { close(started) })
			<-free
			return nil
		})
	}()
	<-started
	return func() {
		close(free)
		if err := <-done; err != nil {
			t.Errorf("holding write: %v", err)
		}
	}
}

// waitQueued waits until n writes wait for the writer.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(s.reqs) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued; want %d", len(s.reqs), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func serviceIDs(t *testing.T, s *Store, hall string) []string {
	t.Helper()
	var ids []string
	if err := s.View(ctx, func(tx civiq.Tx) error {
		svcs, err := tx.Services(hall)
		for _, sv := range svcs {
			ids = append(ids, sv.ID)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	return ids
}

func TestMigrationsAppliedOnce(t *testing.T) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("migrations: %v %v", names, err)
	}
	path := filepath.Join(t.TempDir(), "x.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	v1, err := s.Version()
	if err != nil || v1 != len(names) {
		t.Fatalf("Version = %d, %v; want %d", v1, err, len(names))
	}
	putHall(t, s, "h")
	err = s.Update(ctx, func(tx civiq.Tx) error {
		if err := tx.PutService(&civiq.Service{HallID: "h", ID: "general", Prefix: "A", Name: "综合受理"}); err != nil {
			return err
		}
		return tx.AppendEvent(&civiq.Event{HallID: "h", Type: civiq.EventAnnouncement, At: time.Now(), Text: "你好"})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	for range 2 {
		s := openAt(t, path)
		v, err := s.Version()
		if err != nil || v != v1 {
			t.Errorf("Version after reopening = %d, %v; want %d", v, err, v1)
		}
		var rows int
		if err := s.read.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&rows); err != nil || rows != len(names) {
			t.Errorf("schema_migrations holds %d rows, %v; want %d", rows, err, len(names))
		}
		var h *civiq.Hall
		var svcs []civiq.Service
		if err := s.View(ctx, func(tx civiq.Tx) error {
			var err error
			if h, err = tx.Hall("h"); err != nil {
				return err
			}
			svcs, err = tx.Services("h")
			return err
		}); err != nil {
			t.Fatalf("reading after reopening: %v", err)
		}
		if h.Name != "Hall h" || h.Timezone != "Asia/Shanghai" || len(svcs) != 1 || svcs[0].Name != "综合受理" {
			t.Errorf("after reopening: hall %+v services %+v", h, svcs)
		}
		evs, err := s.EventsAfter(ctx, "h", 0, 10)
		if err != nil || len(evs) != 1 || evs[0].Text != "你好" {
			t.Errorf("events after reopening = %+v, %v", evs, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

var errFailed = errors.New("this write fails after writing")

// writeOrFail writes service s<i> and an event naming it, then fails when i
// is odd.
func writeOrFail(i int) func(civiq.Tx) error {
	return func(tx civiq.Tx) error {
		id := fmt.Sprintf("s%03d", i)
		if err := tx.PutService(&civiq.Service{HallID: "h", ID: id, Prefix: "A", Name: id}); err != nil {
			return err
		}
		if err := tx.AppendEvent(&civiq.Event{HallID: "h", Type: civiq.EventAnnouncement, At: time.Now(), Text: id}); err != nil {
			return err
		}
		if i%2 == 1 {
			return errFailed
		}
		return nil
	}
}

// checkRound checks the outcome of writes first..first+n-1 by writeOrFail:
// the failed ones left nothing, the others are all there, and what was
// published is exactly their events, ids strictly increasing.
func checkRound(t *testing.T, s *Store, pub *publications, errs []error, first int, before []string) {
	t.Helper()
	want := append([]string(nil), before...)
	for j, err := range errs {
		i := first + j
		if i%2 == 1 {
			if !errors.Is(err, errFailed) {
				t.Errorf("write %d: %v; want its own error", i, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("write %d: %v", i, err)
		}
		want = append(want, fmt.Sprintf("s%03d", i))
	}
	slices.Sort(want)
	if got := serviceIDs(t, s, "h"); !slices.Equal(got, want) {
		t.Errorf("services = %d %q\nwant %d %q", len(got), got, len(want), want)
	}
	published, _ := pub.all()
	var texts []string
	var last int64
	for _, ev := range published {
		if ev.ID <= last {
			t.Errorf("event %d published after %d", ev.ID, last)
		}
		last = ev.ID
		texts = append(texts, ev.Text)
	}
	slices.Sort(texts)
	var wantNew []string // the services this round added
	for _, id := range want {
		if !slices.Contains(before, id) {
			wantNew = append(wantNew, id)
		}
	}
	if !slices.Equal(texts, wantNew) {
		t.Errorf("published events of %q\nwant %q", texts, wantNew)
	}
	// The events table agrees with what was published.
	stored, err := s.EventsAfter(ctx, "h", 0, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	var storedIDs, publishedIDs []int64
	for _, ev := range stored {
		storedIDs = append(storedIDs, ev.ID)
	}
	for _, ev := range published {
		publishedIDs = append(publishedIDs, ev.ID)
	}
	if len(storedIDs) < len(publishedIDs) || !slices.Equal(storedIDs[len(storedIDs)-len(publishedIDs):], publishedIDs) {
		t.Errorf("stored event ids end %v; published %v", storedIDs, publishedIDs)
	}
}

func TestGroupCommit(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "x.db"))
	pub := &publications{}
	s.Publish = pub.publish
	putHall(t, s, "h")
	const n = 200

	// Round 1: all 200 wait while the writer is busy, then go into one
	// commit, each in its own savepoint.
	release := hold(t, s)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Update(ctx, writeOrFail(i))
		}()
	}
	waitQueued(t, s, n)
	release()
	wg.Wait()
	checkRound(t, s, pub, errs, 0, nil)
	if _, batches := pub.all(); batches != 1 {
		t.Errorf("200 queued writes were published in %d commits; want 1", batches)
	}
	if evs, _ := pub.all(); len(evs) != n/2 {
		t.Errorf("published %d events; want %d", len(evs), n/2)
	}

	// Round 2: 200 more, as they come.
	before := serviceIDs(t, s, "h")
	pub.reset()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Update(ctx, writeOrFail(n+i))
		}()
	}
	wg.Wait()
	checkRound(t, s, pub, errs, n, before)
	_, batches := pub.all()
	t.Logf("round 2: %d successful writes in %d commits", n/2, batches)
}

func TestPanicInWrite(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "x.db"))
	pub := &publications{}
	s.Publish = pub.publish
	putHall(t, s, "h")

	// The writer logs each panic with its stack; keep the test output short.
	logger := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(func() { slog.SetDefault(logger) })

	boom := func(tx civiq.Tx) error {
		if err := tx.PutService(&civiq.Service{HallID: "h", ID: "panicked", Prefix: "P", Name: "p"}); err != nil {
			return err
		}
		if err := tx.AppendEvent(&civiq.Event{HallID: "h", Type: civiq.EventAnnouncement, At: time.Now(), Text: "panicked"}); err != nil {
			return err
		}
		panic("boom")
	}
	// Alone.
	err := s.Update(ctx, boom)
	if err == nil || civiq.ErrorCode(err) != civiq.EInternal {
		t.Errorf("panicking write: %v; want an internal error", err)
	}
	// In one commit with others, which still land.
	release := hold(t, s)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i, fn := range []func(civiq.Tx) error{writeOrFail(0), boom, writeOrFail(2)} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Update(ctx, fn)
		}()
		waitQueued(t, s, i+1) // keep their order
	}
	release()
	wg.Wait()
	if errs[0] != nil || errs[2] != nil || errs[1] == nil {
		t.Errorf("errors = %v; want only the panic to fail", errs)
	}
	// The writer goes on.
	if err := s.Update(ctx, writeOrFail(4)); err != nil {
		t.Fatalf("write after panics: %v", err)
	}
	if got, want := serviceIDs(t, s, "h"), []string{"s000", "s002", "s004"}; !slices.Equal(got, want) {
		t.Errorf("services = %q; want %q", got, want)
	}
	evs, _ := pub.all()
	for _, ev := range evs {
		if ev.Text == "panicked" {
			t.Error("a panicked write's event was published")
		}
	}
	if len(evs) != 3 {
		t.Errorf("published %d events; want 3", len(evs))
	}
}

func TestUpdateAfterClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	putHall(t, s, "h")

	// Writes queued before Close are written before it returns.
	release := hold(t, s)
	const n = 10
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Update(ctx, writeOrFail(2*i))
		}()
	}
	waitQueued(t, s, n)
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	for {
		s.mu.Lock()
		c := s.closed
		s.mu.Unlock()
		if c {
			break
		}
		time.Sleep(time.Millisecond)
	}
	err = s.Update(ctx, writeOrFail(100))
	if civiq.ErrorCode(err) != civiq.EUnavailable {
		t.Errorf("Update while closing: %v; want unavailable", err)
	}
	release()
	wg.Wait()
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("queued write %d: %v", i, err)
		}
	}
	err = s.Update(ctx, writeOrFail(102))
	if civiq.ErrorCode(err) != civiq.EUnavailable {
		t.Errorf("Update after Close: %v; want unavailable", err)
	}
	var ce *civiq.Error
	if !errors.As(err, &ce) || ce.Message == "" {
		t.Errorf("Update after Close: %#v; want a *civiq.Error with a message", err)
	}
	// Reads after Close are unavailable too: a 503, not a 500.
	err = s.View(ctx, func(tx civiq.Tx) error { _, err := tx.Hall("h"); return err })
	if civiq.ErrorCode(err) != civiq.EUnavailable {
		t.Errorf("View after Close: %v; want unavailable", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	s2 := openAt(t, path)
	if got := serviceIDs(t, s2, "h"); len(got) != n || slices.Contains(got, "s100") || slices.Contains(got, "s102") {
		t.Errorf("after reopening: services %q; want the %d queued before Close", got, n)
	}
}

func TestEventsAfterPaging(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "x.db"))
	putHall(t, s, "h")
	putHall(t, s, "g")
	at := time.Date(2026, 3, 2, 9, 30, 0, 123456789, time.UTC)
	called := at.Add(time.Minute)
	tk := &civiq.Ticket{ID: "tk1", HallID: "h", ServiceID: "general", Number: "A001", Channel: civiq.ChannelKiosk,
		Priority: civiq.PriorityNormal, Status: civiq.StatusCalled, IssuedAt: at, QueuedAt: at, CalledAt: &called, CounterID: "1", CallCount: 1}
	c := &civiq.Counter{HallID: "h", ID: "1", Name: "1号窗口", ServiceIDs: []string{"general", "social"}, Status: civiq.CounterPaused, PauseReason: "暂离"}
	// 25 events of h, interleaved with 10 of g, some in one commit.
	hTexts := []string{}
	for i := range 25 {
		text := fmt.Sprintf("h%02d", i)
		hTexts = append(hTexts, text)
		err := s.Update(ctx, func(tx civiq.Tx) error {
			ev := &civiq.Event{HallID: "h", Type: civiq.EventAnnouncement, At: at.Add(time.Duration(i) * time.Second), Text: text}
			switch i {
			case 3:
				ev.Type, ev.Ticket = civiq.EventCalled, tk
			case 4:
				ev.Type, ev.Counter = civiq.EventCounter, c
			}
			if err := tx.AppendEvent(ev); err != nil {
				return err
			}
			if i%5 == 0 {
				return nil
			}
			if i%3 == 0 && i/3 < 10 {
				return tx.AppendEvent(&civiq.Event{HallID: "g", Type: civiq.EventAnnouncement, At: at, Text: fmt.Sprintf("g%02d", i)})
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		if err := s.Update(ctx, func(tx civiq.Tx) error {
			return tx.AppendEvent(&civiq.Event{HallID: "g", Type: civiq.EventAnnouncement, At: at, Text: fmt.Sprintf("g-extra%d", i)})
		}); err != nil {
			t.Fatal(err)
		}
	}

	var got []*civiq.Event
	var pages []int
	after := int64(0)
	for range 10 {
		page, err := s.EventsAfter(ctx, "h", after, 10)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, len(page))
		if len(page) == 0 {
			break
		}
		for _, ev := range page {
			if ev.ID <= after {
				t.Errorf("event %d on the page after %d", ev.ID, after)
			}
			if ev.HallID != "h" {
				t.Errorf("event %d of hall %s on h's page", ev.ID, ev.HallID)
			}
			after = ev.ID
		}
		got = append(got, page...)
	}
	if !slices.Equal(pages, []int{10, 10, 5, 0}) {
		t.Errorf("page sizes = %v; want [10 10 5 0]", pages)
	}
	var texts []string
	for _, ev := range got {
		texts = append(texts, ev.Text)
	}
	if !slices.Equal(texts, hTexts) {
		t.Errorf("texts = %q; want %q", texts, hTexts)
	}
	if len(got) == 25 {
		if ev := got[0]; ev.Type != civiq.EventAnnouncement || !ev.At.Equal(at) {
			t.Errorf("first event = %s at %v; want announcement at %v", ev.Type, ev.At, at)
		}
		if ev := got[3]; ev.Type != civiq.EventCalled || ev.Ticket == nil || ev.Ticket.Number != "A001" || ev.Ticket.CounterID != "1" ||
			ev.Ticket.CallCount != 1 || ev.Ticket.CalledAt == nil || !ev.Ticket.CalledAt.Equal(called) {
			t.Errorf("ticket event = %s %+v", ev.Type, ev.Ticket)
		}
		if ev := got[4]; ev.Type != civiq.EventCounter || ev.Counter == nil || ev.Counter.Status != civiq.CounterPaused ||
			ev.Counter.PauseReason != "暂离" || !slices.Equal(ev.Counter.ServiceIDs, []string{"general", "social"}) {
			t.Errorf("counter event = %s %+v", ev.Type, ev.Counter)
		}
	}
	// Starting in the middle, with a big limit.
	if len(got) == 25 {
		rest, err := s.EventsAfter(ctx, "h", got[19].ID, 1000)
		if err != nil || len(rest) != 5 || rest[0].ID != got[20].ID {
			t.Errorf("after the 20th: %d events, %v", len(rest), err)
		}
	}
	// Another hall sees only its own.
	gEvents, err := s.EventsAfter(ctx, "g", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range gEvents {
		if ev.HallID != "g" {
			t.Errorf("hall g gets event %d of %s", ev.ID, ev.HallID)
		}
	}
	if len(gEvents) != 10 {
		t.Errorf("hall g has %d events; want 10", len(gEvents))
	}
	if evs, err := s.EventsAfter(ctx, "nope", 0, 10); err != nil || len(evs) != 0 {
		t.Errorf("unknown hall: %d events, %v", len(evs), err)
	}
	last, err := s.LastEventID(ctx)
	if err != nil || last < after {
		t.Errorf("LastEventID = %d, %v; want at least %d", last, err, after)
	}
	if evs, err := s.EventsAfter(ctx, "h", last, 10); err != nil || len(evs) != 0 {
		t.Errorf("after the last: %d events, %v", len(evs), err)
	}
}

// TestFilesPrivate: the database and its WAL and shared-memory files are
// their owner's only, whatever the umask; an existing file open to others
// is closed to them.
func TestFilesPrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	path := filepath.Join(dir, "civiq.db")
	s := openAt(t, path)
	putHall(t, s, "h1") // a write, so that the WAL holds something
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s has mode %o, want 600", filepath.Base(p), mode)
		}
	}
	s.Close()

	loose := filepath.Join(dir, "old.db")
	if err := os.WriteFile(loose, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o664); err != nil {
		t.Fatal(err)
	}
	openAt(t, loose)
	if fi, err := os.Stat(loose); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("an existing database open to others: %v, %v; want mode 600", fi.Mode(), err)
	}
}

// Two branches that take the same next number must fail every start, not
// leave one migration unapplied.
func TestMigrationNumbersUnique(t *testing.T) {
	for _, tc := range []struct {
		names []string
		ok    bool
	}{
		{[]string{"0002_b.sql", "0001_a.sql"}, true},
		{[]string{"0011_edge.sql", "0011_haochaping.sql"}, false},
		{[]string{"edge.sql"}, false},
	} {
		_, err := migrationVersions(tc.names)
		if (err == nil) != tc.ok {
			t.Errorf("%v: err %v", tc.names, err)
		}
	}
	for _, dir := range []string{"migrations", "../postgres/migrations"} {
		names, _ := filepath.Glob(filepath.Join(dir, "*.sql"))
		for i := range names {
			names[i] = filepath.Base(names[i])
		}
		if _, err := migrationVersions(names); err != nil {
			t.Error(err)
		}
	}
}
