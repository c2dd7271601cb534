package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/edgelink"
	"github.com/civiq/civiq/sqlstore"
)

// hallDigest is what a node holds of the demo hall, day by day (the
// hall's days): its tickets and its events in order (type, time, ticket
// number and status), counted and hashed, so a city's copy is compared
// with its edge's.
type hallDigest map[string]*dayDigest

type dayDigest struct {
	Tickets, Events int
	TicketSum       string
	EventSum        string
}

func (d hallDigest) String() string {
	var b strings.Builder
	for _, day := range slices.Sorted(maps.Keys(d)) {
		fmt.Fprintf(&b, "%s: %+v; ", day, *d[day])
	}
	return b.String()
}

func (d hallDigest) equal(o hallDigest) bool {
	return maps.EqualFunc(d, o, func(a, b *dayDigest) bool { return *a == *b })
}

// cityOwnEvents are the events a city writes of the hall on its own (the
// configuration it owns, a booking made online) and an edge its pulls:
// no part of what the edge sends up.
const cityOwnEvents = `'config.pulled', 'config.changed', 'booking.created', 'booking.settings'`

func digestOf(t *testing.T, db string) hallDigest {
	t.Helper()
	conn, err := sql.Open("sqlite", sqlstore.DSN(db, sqlstore.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	d := hallDigest{}
	hashes := map[string]hash.Hash{}
	add := func(day string, tickets, events int, format string, args ...any) {
		if d[day] == nil {
			d[day], hashes[day+"t"], hashes[day+"e"] = &dayDigest{}, sha256.New(), sha256.New()
		}
		d[day].Tickets += tickets
		d[day].Events += events
		h := hashes[day+"e"]
		if tickets > 0 {
			h = hashes[day+"t"]
		}
		fmt.Fprintf(h, format, args...)
	}
	rows, err := conn.Query(`SELECT day, number, service_id, status, call_count, counter_id FROM tickets WHERE hall_id = 'demo' ORDER BY day, number`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var day, number, service, status, counter string
		var calls int
		if err := rows.Scan(&day, &number, &service, &status, &calls, &counter); err != nil {
			t.Fatal(err)
		}
		add(day, 1, 0, "%s|%s|%s|%d|%s\n", number, service, status, calls, counter)
	}
	rows.Close()
	rows, err = conn.Query(`SELECT type, at, data FROM events WHERE hall_id = 'demo' AND type NOT IN (` + cityOwnEvents + `) ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var typ, data string
		var at int64
		if err := rows.Scan(&typ, &at, &data); err != nil {
			t.Fatal(err)
		}
		var ev struct {
			Ticket  *struct{ Number, Status string } `json:"ticket"`
			Booking *struct{ ID, Status string }     `json:"booking"`
		}
		json.Unmarshal([]byte(data), &ev)
		line := fmt.Sprintf("%s|%d", typ, at)
		if ev.Ticket != nil {
			line += "|" + ev.Ticket.Number + "|" + ev.Ticket.Status
		}
		if ev.Booking != nil {
			line += "|" + ev.Booking.ID + "|" + ev.Booking.Status
		}
		add(hallDay(time.Unix(0, at)), 0, 1, "%s\n", line)
	}
	rows.Close()
	for day, dd := range d {
		dd.TicketSum = hex.EncodeToString(hashes[day+"t"].Sum(nil))
		dd.EventSum = hex.EncodeToString(hashes[day+"e"].Sum(nil))
	}
	return d
}

// edgeRig is a city and the demo hall's edge, each the real binary on its
// own SQLite file; the city comes back on the same address.
type edgeRig struct {
	t                *testing.T
	bin, dir         string
	cityAddr         string
	link             *linkProxy // the hall's line to the city: the edge's only way there
	city, edge       *proc
	cityDB, edgeDB   string
	edgeToken        string
	hc               *http.Client
	cityAdmin, admin string // bearer tokens on the city and on the edge
}

func (r *edgeRig) startCity() {
	r.city = startBinaryAt(r.t, r.bin, r.cityDB, r.cityAddr)
	r.cityAdmin = mustLogin(r.t, r.hc, r.city.url, "admin", testAdminPassword)
}

func (r *edgeRig) startEdge() {
	r.edge = startBinary(r.t, r.bin, r.edgeDB, "CIVIQ_EDGE=1", "CIVIQ_EDGE_HALL=demo",
		"CIVIQ_CITY_URL=http://"+r.link.addr, "CIVIQ_EDGE_TOKEN="+r.edgeToken)
	r.admin = mustLogin(r.t, r.hc, r.edge.url, "admin", testAdminPassword)
	// Counter 6 serves every service: open it (a counter's state is the
	// edge's).
	mustDo(r.t, r.hc, "POST", r.edge.url+"/api/v1/halls/demo/counters/6/status", r.admin, map[string]string{"status": "open"}, 200, nil)
}

// linkProxy is the hall's line to the city, which the test can cut: it
// passes TCP connections on to the city while up; cut, it closes those
// open and every new one at once.
type linkProxy struct {
	addr, to string
	ln       net.Listener
	mu       sync.Mutex
	down     bool
	conns    []net.Conn
}

func newLinkProxy(t *testing.T, to string) *linkProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &linkProxy{addr: ln.Addr().String(), to: to, ln: ln}
	t.Cleanup(func() { ln.Close(); p.set(true) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.pass(c)
		}
	}()
	return p
}

func (p *linkProxy) pass(c net.Conn) {
	p.mu.Lock()
	down := p.down
	p.mu.Unlock()
	if down {
		c.Close()
		return
	}
	up, err := net.Dial("tcp", p.to)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns = append(p.conns, c, up)
	p.mu.Unlock()
	go func() { io.Copy(up, c); up.Close() }()
	io.Copy(c, up)
	c.Close()
}

// set cuts the line (down) or mends it.
func (p *linkProxy) set(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for _, c := range p.conns {
			c.Close()
		}
		p.conns = nil
	}
}

// stop ends p with sig and waits for it.
func stop(t *testing.T, p *proc, sig syscall.Signal) {
	t.Helper()
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("civiq did not stop on %v; log:\n%s", sig, p.logs.String())
	}
}

// work does live work at the edge: n tickets issued, about half called
// and done, a third of those rated. It fails the test when the edge
// refuses any of it.
func (r *edgeRig) work(n int) {
	r.t.Helper()
	services := []string{"general", "property", "tax", "social"}
	for i := range n {
		mustDo(r.t, r.hc, "POST", r.edge.url+"/api/v1/halls/demo/tickets", r.admin,
			map[string]string{"service_id": services[i%4], "channel": "kiosk"}, 201, nil)
		if i%2 == 1 {
			var called struct {
				Ticket struct{ ID string } `json:"ticket"`
			}
			mustDo(r.t, r.hc, "POST", r.edge.url+"/api/v1/halls/demo/counters/6/call-next", r.admin, nil, 200, &called)
			mustDo(r.t, r.hc, "POST", r.edge.url+"/api/v1/tickets/"+called.Ticket.ID+"/finish", r.admin, nil, 200, nil)
			if i%3 == 0 {
				mustDo(r.t, r.hc, "POST", r.edge.url+"/api/v1/tickets/"+called.Ticket.ID+"/rating", "",
					map[string]any{"score": 5}, 201, nil)
			}
		}
	}
}

// converge waits up to a minute for the city to hold exactly the edge's
// tickets and events of the day, and says how long it took.
func (r *edgeRig) converge(what string) time.Duration {
	r.t.Helper()
	start := time.Now()
	var edge, city hallDigest
	for time.Since(start) < time.Minute {
		edge, city = digestOf(r.t, r.edgeDB), digestOf(r.t, r.cityDB)
		if edge.equal(city) {
			r.t.Logf("%s: the city holds the edge's tickets and events after %v: %v", what, time.Since(start).Round(time.Millisecond), edge)
			return time.Since(start)
		}
		time.Sleep(200 * time.Millisecond)
	}
	r.t.Fatalf("%s: after a minute the city holds %v\nthe edge %v\nedge log:\n%s", what, city, edge, r.edge.logs.String())
	return 0
}

// lastIDs are the edge's newest event and the newest of it the city
// holds.
func (r *edgeRig) lastIDs() (edge, city int64) {
	r.t.Helper()
	for _, q := range []struct {
		db, sql string
		out     *int64
	}{
		{r.edgeDB, `SELECT COALESCE(MAX(id), 0) FROM events`, &edge},
		{r.cityDB, `SELECT COALESCE(MAX(last_applied), 0) FROM edge_links`, &city},
	} {
		conn, err := sql.Open("sqlite", sqlstore.DSN(q.db, sqlstore.Options{}))
		if err != nil {
			r.t.Fatal(err)
		}
		err = conn.QueryRow(q.sql).Scan(q.out)
		conn.Close()
		if err != nil && !strings.Contains(err.Error(), "no such table") {
			r.t.Fatal(err)
		}
	}
	return edge, city
}

// outageFor is how long the test keeps the city away: the issue asks for
// 10 minutes; the test knob CIVIQ_TEST_OUTAGE (a Go duration, e.g. 10m)
// sets it, 20 s by default so the test stays short.
func outageFor(t *testing.T) time.Duration {
	v := os.Getenv("CIVIQ_TEST_OUTAGE")
	if v == "" {
		return 20 * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("CIVIQ_TEST_OUTAGE=%q: want a duration such as 10m", v)
	}
	return d
}

// openAllDay makes the demo hall, on the city, open all day today and
// tomorrow, book with no lead and check in from 4 hours before a slot, so
// that a booking can be checked in now whatever the time of day the test
// runs.
func (r *edgeRig) openAllDay() {
	t := r.t
	t.Helper()
	var hall struct{ Hall map[string]any }
	mustDo(t, r.hc, "GET", r.city.url+"/api/v1/halls/demo", "", nil, 200, &hall)
	hall.Hall["opens_at"], hall.Hall["closes_at"] = "00:00", "23:59"
	mustDo(t, r.hc, "PUT", r.city.url+"/api/v1/halls/demo", r.cityAdmin, hall.Hall, 200, nil)
	now := time.Now()
	for _, d := range []time.Time{now, now.AddDate(0, 0, 1)} {
		mustDo(t, r.hc, "PUT", r.city.url+"/api/v1/halls/demo/calendar/days/"+hallDay(d), r.cityAdmin, map[string]string{"kind": "work", "name": "test"}, 200, nil)
	}
	mustDo(t, r.hc, "PUT", r.city.url+"/api/v1/halls/demo/booking-settings", r.cityAdmin,
		map[string]any{"lead_minutes": 0, "checkin_early_minutes": 240}, 200, nil)
}

// onlineBooking books, on the city, the next slot of the demo hall's
// general service, and answers the booking's code and signed pass and the
// ID's last 4.
func (r *edgeRig) onlineBooking() (code, pass, last4 string) {
	t := r.t
	t.Helper()
	now := time.Now()
	for _, d := range []time.Time{now, now.AddDate(0, 0, 1)} {
		var day struct {
			Slots []struct {
				Start     time.Time `json:"start"`
				Available int       `json:"available"`
			} `json:"slots"`
		}
		mustDo(t, r.hc, "GET", r.city.url+"/api/v1/halls/demo/services/general/slots?date="+hallDay(d), "", nil, 200, &day)
		for _, sl := range day.Slots {
			if sl.Available == 0 || sl.Start.Before(now) {
				continue
			}
			id := "11010119900307" + "004"
			id += string(civiq.IDCheckChar(id))
			var b struct {
				Booking struct{ Code, Pass string } `json:"booking"`
			}
			mustDo(t, r.hc, "POST", r.city.url+"/api/v1/halls/demo/bookings", "", map[string]any{"service_id": "general",
				"slot_start": sl.Start, "name": "王四", "phone": "13900000004", "id_number": id}, 201, &b)
			if b.Booking.Pass == "" {
				t.Fatal("the city's booking has no signed pass")
			}
			return b.Booking.Code, b.Booking.Pass, id[14:]
		}
	}
	t.Fatal("no slot to book today or tomorrow")
	return
}

// readyz is the edge's /readyz as key: value.
func readyz(t *testing.T, hc *http.Client, base string) map[string]string {
	t.Helper()
	b := mustDo(t, hc, "GET", base+"/readyz", "", nil, 200, nil)
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			out[k] = v
		}
	}
	return out
}

// TestEdgeFaults runs a city and the demo hall's edge as real processes
// and breaks things: the hall cut off and the city stopped for an outage
// while the edge works and checks a booking in offline, the edge
// killed during an upload, the city restored from an older backup, the
// edge's disk replaced. After each, the city holds exactly the edge's
// tickets and events, day by day, in order, within a minute.
func TestEdgeFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes")
	}
	dir := t.TempDir()
	r := &edgeRig{t: t, bin: buildCiviq(t), dir: dir, cityAddr: freeAddr(t), hc: newHTTPClient(),
		cityDB: filepath.Join(dir, "city.db"), edgeDB: filepath.Join(dir, "edge.db")}
	r.link = newLinkProxy(t, r.cityAddr)
	r.startCity()
	var tok struct{ Token string }
	mustDo(t, r.hc, "POST", r.city.url+"/api/v1/halls/demo/edge-tokens", r.cityAdmin, map[string]string{"description": "test edge"}, 201, &tok)
	r.edgeToken = tok.Token
	r.startEdge()

	// The city refuses the hall's live work now: the edge owns it.
	mustDo(t, r.hc, "POST", r.city.url+"/api/v1/halls/demo/tickets", r.cityAdmin, map[string]string{"service_id": "general", "channel": "kiosk"}, 409, nil)

	r.work(10)
	r.converge("link up")
	if st := readyz(t, r.hc, r.edge.url); st["role"] != "edge" || st["link"] != "up" {
		t.Errorf("edge /readyz with the city up: %v", st)
	}

	// 1. The hall's line to the city cut, a citizen books online (the
	// edge cannot pull it), then the city stopped for the outage
	// (outageFor: the 10 minutes, shortened by CIVIQ_TEST_OUTAGE).
	// Meanwhile the edge issues, calls, finishes and rates, and checks
	// the citizen in offline by the booking's pass: nothing at the edge
	// notices but its status. Then the city comes back and the line is
	// mended: within a minute the city holds exactly the edge's tickets and
	// events, day by day, in order, and its booking is checked in.
	r.openAllDay()
	time.Sleep(edgelink.PullEvery + time.Second) // the hall's new hours reach the edge
	r.link.set(true)
	code, pass, last4 := r.onlineBooking()
	stop(t, r.city, syscall.SIGTERM)
	outage := outageFor(t)
	t.Logf("the city away for %v", outage)
	var ticket struct {
		Ticket struct{ Number string } `json:"ticket"`
	}
	for start, round := time.Now(), 0; time.Since(start) < outage || ticket.Ticket.Number == ""; round++ {
		r.work(6)
		if round == 2 {
			// A pass whose signature was altered is refused.
			altered := pass[:len(pass)-6] + "AAAAAA"
			mustDo(t, r.hc, "POST", r.edge.url+"/api/v1/halls/demo/checkins", r.admin, map[string]string{"code": code, "id_last4": last4, "pass": altered}, 400, nil)
			mustDo(t, r.hc, "POST", r.edge.url+"/api/v1/halls/demo/checkins", r.admin, map[string]string{"code": code, "id_last4": last4, "pass": pass}, 201, &ticket)
		}
		time.Sleep(outage / 30)
	}
	st := readyz(t, r.hc, r.edge.url)
	if st["link"] != "down" || st["pending"] == "0" {
		t.Errorf("edge /readyz with the city away: %v", st)
	}
	backupAt := filepath.Join(dir, "city-backup.db")
	if err := backup(context.Background(), r.cityDB, backupAt); err != nil {
		t.Fatal(err)
	}
	r.startCity()
	r.link.set(false)
	r.converge("city back")
	var b struct {
		Booking struct {
			Status       string `json:"status"`
			TicketNumber string `json:"ticket_number"`
		} `json:"booking"`
	}
	mustDo(t, r.hc, "GET", r.city.url+"/api/v1/bookings/"+code, r.cityAdmin, nil, 200, &b)
	if b.Booking.Status != civiq.BookingCheckedIn || b.Booking.TicketNumber != ticket.Ticket.Number {
		t.Errorf("the city's booking after the outage: %+v; want checked in with %s", b.Booking, ticket.Ticket.Number)
	}

	// 2. The edge killed during an upload of a backlog, and started again.
	stop(t, r.city, syscall.SIGTERM)
	r.work(300)
	r.startCity()
	// Kill the edge once the city holds part of the backlog.
	edgeLast, before := r.lastIDs()
	cityLast := before
	for deadline := time.Now().Add(10 * time.Second); cityLast == before && time.Now().Before(deadline); _, cityLast = r.lastIDs() {
		time.Sleep(2 * time.Millisecond)
	}
	stop(t, r.edge, syscall.SIGKILL)
	t.Logf("edge killed when the city held its events up to %d of %d", cityLast, edgeLast)
	r.startEdge()
	r.converge("edge killed during upload")

	// 3. The city restored from a backup older than the edge's last
	// upload: the edge sends again what it lacks.
	stop(t, r.city, syscall.SIGTERM)
	if err := restore(context.Background(), backupAt, r.cityDB, true); err != nil {
		t.Fatal(err)
	}
	r.startCity()
	r.converge("city restored from an older backup")

	// 4. The edge's disk replaced: a new edge for the hall goes on
	// numbering from the city's copy.
	stop(t, r.edge, syscall.SIGTERM)
	var last struct {
		RecentCalls []struct{ Number string } `json:"recent_calls"`
	}
	mustDo(t, r.hc, "GET", r.city.url+"/api/v1/halls/demo/status", "", nil, 200, &last)
	r.edgeDB = filepath.Join(dir, "edge2.db")
	r.startEdge()
	deadline := time.Now().Add(30 * time.Second)
	for readyz(t, r.hc, r.edge.url)["link"] != "up" && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	var tk struct {
		Ticket struct{ Number string } `json:"ticket"`
	}
	// The city's last general number of the day, and one more.
	conn, err := sql.Open("sqlite", sqlstore.DSN(r.cityDB, sqlstore.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var lastA string
	if err := conn.QueryRow(`SELECT MAX(number) FROM tickets WHERE hall_id = 'demo' AND service_id = 'general' AND day = ?`, hallDay(time.Now())).Scan(&lastA); err != nil {
		t.Fatal(err)
	}
	mustDo(t, r.hc, "POST", r.edge.url+"/api/v1/halls/demo/tickets", r.admin, map[string]string{"service_id": "general", "channel": "kiosk"}, 201, &tk)
	if want := fmt.Sprintf("A%03d", numberSeq(t, lastA, "A")+1); tk.Ticket.Number != want {
		t.Errorf("the new edge's first general ticket is %s; want %s (the city's last: %s)", tk.Ticket.Number, want, lastA)
	}
}
