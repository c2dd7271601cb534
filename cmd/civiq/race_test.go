package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestConcurrentIssueAndCall runs 16 issuers and 6 counters at once against
// one server: numbers are unique per service and day, every ticket is
// called exactly once, and the queue drains.
func TestConcurrentIssueAndCall(t *testing.T) {
	const (
		issuers   = 16
		perIssuer = 50
	)
	m := mustRun(t)
	hc := newHTTPClient()
	base := m.URL()
	token := mustLogin(t, hc, base, "admin", testAdminPassword)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	var (
		mu     sync.Mutex
		issued []apiTicket
		calls  []apiTicket
		errs   []string
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		errs = append(errs, fmt.Sprintf(format, args...))
		mu.Unlock()
	}

	var issuing sync.WaitGroup
	var issuingDone atomic.Bool
	for i := range issuers {
		issuing.Add(1)
		go func() {
			defer issuing.Done()
			for n := range perIssuer {
				svc := demoServices[(i+n)%len(demoServices)].ID
				status, b, err := request(ctx, hc, "POST", base+"/api/v1/halls/demo/tickets", token,
					map[string]string{"service_id": svc})
				if err != nil || status != http.StatusCreated {
					fail("issuer %d: issue %s: %d %s %v", i, svc, status, b, err)
					return
				}
				var a ticketAnswer
				if err := json.Unmarshal(b, &a); err != nil || a.Ticket.ID == "" || a.Ticket.Status != "waiting" {
					fail("issuer %d: answer %s: %v", i, b, err)
					return
				}
				mu.Lock()
				issued = append(issued, a.Ticket)
				mu.Unlock()
			}
		}()
	}

	var counters sync.WaitGroup
	callsPer := make([]int, 6)
	for c := 1; c <= 6; c++ {
		counters.Add(1)
		go func() {
			defer counters.Done()
			url := fmt.Sprintf("%s/api/v1/halls/demo/counters/%d/call-next", base, c)
			for ctx.Err() == nil {
				// A 204 seen by a request sent after the last ticket was
				// issued means this counter's queues stay empty.
				drained := issuingDone.Load()
				status, b, err := request(ctx, hc, "POST", url, token, nil)
				switch {
				case err != nil:
					fail("counter %d: call-next: %v", c, err)
					return
				case status == http.StatusNoContent:
					if drained {
						return
					}
					time.Sleep(time.Millisecond)
				case status == http.StatusOK:
					var a ticketAnswer
					if err := json.Unmarshal(b, &a); err != nil || a.Ticket.ID == "" {
						fail("counter %d: call-next answer %s: %v", c, b, err)
						return
					}
					if a.Ticket.Status != "called" || a.Ticket.CounterID != fmt.Sprint(c) || a.Ticket.CallCount != 1 {
						fail("counter %d called %s: status %s counter %s call_count %d", c, a.Ticket.Number,
							a.Ticket.Status, a.Ticket.CounterID, a.Ticket.CallCount)
					}
					mu.Lock()
					calls = append(calls, a.Ticket)
					callsPer[c-1]++
					mu.Unlock()
				default:
					fail("counter %d: call-next: %d %s", c, status, b)
					return
				}
			}
		}()
	}

	issuing.Wait()
	issuingDone.Store(true)
	counters.Wait()
	for _, e := range errs {
		t.Error(e)
	}
	if ctx.Err() != nil {
		t.Fatalf("the load did not finish in time: %v", ctx.Err())
	}
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("%d tickets issued, %d calls (per counter %v)", len(issued), len(calls), callsPer)

	if len(issued) != issuers*perIssuer {
		t.Fatalf("%d tickets issued, want %d", len(issued), issuers*perIssuer)
	}

	// No duplicate number per service and day, no duplicate id.
	byID := map[string]apiTicket{}
	numbers := map[string]string{}
	for _, tk := range issued {
		if _, dup := byID[tk.ID]; dup {
			t.Errorf("ticket id %s issued twice", tk.ID)
		}
		byID[tk.ID] = tk
		key := tk.ServiceID + "|" + hallDay(tk.IssuedAt) + "|" + tk.Number
		if other, dup := numbers[key]; dup {
			t.Errorf("number %s given to %s and %s", key, other, tk.ID)
		}
		numbers[key] = tk.ID
		numberSeq(t, tk.Number, prefixOf(tk.ServiceID))
	}

	// Every ticket called exactly once, by a counter that serves it.
	serves := map[string]map[string]bool{
		"1": {"general": true, "social": true}, "2": {"general": true, "social": true},
		"3": {"property": true, "general": true}, "4": {"property": true, "general": true},
		"5": {"tax": true}, "6": {"general": true, "property": true, "tax": true, "social": true},
	}
	calledBy := map[string]string{}
	for _, c := range calls {
		if prev, dup := calledBy[c.ID]; dup {
			t.Errorf("ticket %s (%s) called twice: by counter %s and %s", c.ID, c.Number, prev, c.CounterID)
		}
		calledBy[c.ID] = c.CounterID
		tk, ok := byID[c.ID]
		if !ok {
			t.Errorf("counter %s called %s, which no issuer got", c.CounterID, c.ID)
			continue
		}
		if c.Number != tk.Number || c.ServiceID != tk.ServiceID {
			t.Errorf("ticket %s called as %s %s, issued as %s %s", c.ID, c.Number, c.ServiceID, tk.Number, tk.ServiceID)
		}
		if !serves[c.CounterID][c.ServiceID] {
			t.Errorf("counter %s called %s of %s, which it does not serve", c.CounterID, c.Number, c.ServiceID)
		}
	}
	if len(calls) != len(issued) {
		t.Errorf("%d calls for %d tickets", len(calls), len(issued))
	}

	// The final state of every ticket: called once, then done or still called.
	work := make(chan apiTicket)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for tk := range work {
				status, b, err := request(context.Background(), hc, "GET", base+"/api/v1/tickets/"+tk.ID, "", nil)
				if err != nil || status != http.StatusOK {
					t.Errorf("GET ticket %s: %d %s %v", tk.ID, status, b, err)
					continue
				}
				var got ticketAnswer
				if err := json.Unmarshal(b, &got); err != nil {
					t.Errorf("GET ticket %s: %s: %v", tk.ID, b, err)
					continue
				}
				g := got.Ticket
				if (g.Status != "done" && g.Status != "called") || g.CallCount != 1 || g.Number != tk.Number {
					t.Errorf("ticket %s (%s) at the end: status %s call_count %d number %s", tk.ID, tk.Number, g.Status, g.CallCount, g.Number)
				}
				mu.Lock()
				want := calledBy[tk.ID]
				mu.Unlock()
				if g.CounterID != want {
					t.Errorf("ticket %s at the end: counter %s, called by %s", tk.ID, g.CounterID, want)
				}
			}
		}()
	}
	for _, tk := range issued {
		work <- tk
	}
	close(work)
	wg.Wait()

	var st struct {
		Waiting map[string]int `json:"waiting"`
	}
	mustDo(t, hc, "GET", base+"/api/v1/halls/demo/status", "", nil, 200, &st)
	for svc, n := range st.Waiting {
		if n != 0 {
			t.Errorf("%d tickets of %s still wait after the counters drained the queue", n, svc)
		}
	}
}
