package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/civiq/civiq/sqlstore"
)

// hallDigest is what a node holds of the demo hall: its tickets of the day
// and its events in order (type, time, ticket number and status), counted
// and hashed, so a city's copy is compared with its edge's.
type hallDigest struct {
	Tickets, Events int
	TicketSum       string
	EventSum        string
}

func digestOf(t *testing.T, db, day string) hallDigest {
	t.Helper()
	conn, err := sql.Open("sqlite", sqlstore.DSN(db, sqlstore.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var d hallDigest
	h := sha256.New()
	rows, err := conn.Query(`SELECT number, service_id, status, call_count, counter_id FROM tickets WHERE hall_id = 'demo' AND day = ? ORDER BY number`, day)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var number, service, status, counter string
		var calls int
		if err := rows.Scan(&number, &service, &status, &calls, &counter); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(h, "%s|%s|%s|%d|%s\n", number, service, status, calls, counter)
		d.Tickets++
	}
	rows.Close()
	d.TicketSum = hex.EncodeToString(h.Sum(nil))
	h.Reset()
	// The edge's own bookkeeping of its pulls stays out: the city's
	// configuration is the city's.
	rows, err = conn.Query(`SELECT type, at, data FROM events WHERE hall_id = 'demo' AND type <> 'config.pulled' ORDER BY id`)
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
			Ticket *struct{ Number, Status string } `json:"ticket"`
		}
		json.Unmarshal([]byte(data), &ev)
		fmt.Fprintf(h, "%s|%d", typ, at)
		if ev.Ticket != nil {
			fmt.Fprintf(h, "|%s|%s", ev.Ticket.Number, ev.Ticket.Status)
		}
		h.Write([]byte{'\n'})
		d.Events++
	}
	rows.Close()
	d.EventSum = hex.EncodeToString(h.Sum(nil))
	return d
}

// edgeRig is a city and the demo hall's edge, each the real binary on its
// own SQLite file; the city comes back on the same address.
type edgeRig struct {
	t                *testing.T
	bin, dir         string
	cityAddr         string
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
		"CIVIQ_CITY_URL=http://"+r.cityAddr, "CIVIQ_EDGE_TOKEN="+r.edgeToken)
	r.admin = mustLogin(r.t, r.hc, r.edge.url, "admin", testAdminPassword)
	// Counter 6 serves every service: open it (a counter's state is the
	// edge's).
	mustDo(r.t, r.hc, "POST", r.edge.url+"/api/v1/halls/demo/counters/6/status", r.admin, map[string]string{"status": "open"}, 200, nil)
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
	day := hallDay(time.Now())
	var edge, city hallDigest
	for time.Since(start) < time.Minute {
		edge, city = digestOf(r.t, r.edgeDB, day), digestOf(r.t, r.cityDB, day)
		if edge == city {
			r.t.Logf("%s: the city holds the edge's %d tickets and %d events after %v", what, edge.Tickets, edge.Events, time.Since(start).Round(time.Millisecond))
			return time.Since(start)
		}
		time.Sleep(200 * time.Millisecond)
	}
	r.t.Fatalf("%s: after a minute the city holds %+v, the edge %+v\nedge log:\n%s", what, city, edge, r.edge.logs.String())
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
// and breaks things: the city stopped while the edge works, the edge
// killed during an upload, the city restored from an older backup, the
// edge's disk replaced. After each, the city holds exactly the edge's
// tickets and events of the day, in order, within a minute.
func TestEdgeFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes")
	}
	dir := t.TempDir()
	r := &edgeRig{t: t, bin: buildCiviq(t), dir: dir, cityAddr: freeAddr(t), hc: newHTTPClient(),
		cityDB: filepath.Join(dir, "city.db"), edgeDB: filepath.Join(dir, "edge.db")}
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

	// 1. The city stops; the edge goes on and only its status tells.
	stop(t, r.city, syscall.SIGTERM)
	r.work(40)
	time.Sleep(time.Second) // a try fails, the link is seen down
	st := readyz(t, r.hc, r.edge.url)
	if st["link"] != "down" || st["pending"] == "0" {
		t.Errorf("edge /readyz with the city away: %v", st)
	}
	backupAt := filepath.Join(dir, "city-backup.db")
	if err := backup(context.Background(), r.cityDB, backupAt); err != nil {
		t.Fatal(err)
	}
	r.startCity()
	r.converge("city back")

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
	mustDo(t, r.hc, "POST", r.edge.url+"/api/v1/halls/demo/tickets", r.admin, map[string]string{"service_id": "general", "channel": "kiosk"}, 201, &tk)
	// 351 tickets so far, a quarter of them general: A001..A088.
	if tk.Ticket.Number != "A089" {
		t.Errorf("the new edge's first general ticket is %s; want A089", tk.Ticket.Number)
	}
}
