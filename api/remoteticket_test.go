package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"strings"
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/api"
)

// takeRemote takes an anonymous remote ticket with the client hc (its
// cookie jar is the phone) and returns the status and the error code.
func takeRemote(t *testing.T, hc *http.Client, base, service string) (int, string, http.Header) {
	t.Helper()
	res, err := hc.Post(base+"/api/v1/halls/demo/tickets", "application/json",
		strings.NewReader(`{"service_id":"`+service+`","channel":"remote"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var e apiError
	json.NewDecoder(res.Body).Decode(&e)
	if res.StatusCode >= 500 {
		t.Fatalf("remote ticket: %d %s", res.StatusCode, e.Error.Message)
	}
	return res.StatusCode, e.Error.Code, res.Header
}

func phone(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar}
}

// Anonymous remote tickets are bounded: one phone holds one waiting
// ticket per service (the hall may allow more), a service takes at most
// the hall's max_remote_waiting, and one address at most 30 an hour
// (issue 18: 50,000 in 21 s filled a hall's queue).
func TestRemoteTicketLimits(t *testing.T) {
	ts := newTestServer(t)
	var h struct{ Hall civiq.Hall }
	ts.do(t, "GET", "/api/v1/halls/demo", "", nil).want(t, http.StatusOK).json(t, &h)
	if h.Hall.MaxRemoteWaiting != civiq.DefaultMaxRemoteWaiting || h.Hall.RemotePerPhone != 1 {
		t.Fatalf("defaults: max_remote_waiting %d, remote_per_phone %d", h.Hall.MaxRemoteWaiting, h.Hall.RemotePerPhone)
	}
	h.Hall.MaxRemoteWaiting = 3
	ts.do(t, "PUT", "/api/v1/halls/demo", ts.Admin, h.Hall).want(t, http.StatusOK)

	p := phone(t)
	if code, _, hdr := takeRemote(t, p, ts.URL, "general"); code != http.StatusCreated || !strings.Contains(hdr.Get("Set-Cookie"), "civiq_phone=") {
		t.Fatalf("first remote ticket: %d, Set-Cookie %q", code, hdr.Get("Set-Cookie"))
	}
	if code, ecode, _ := takeRemote(t, p, ts.URL, "general"); code != http.StatusConflict || ecode != civiq.ETicketHeld {
		t.Fatalf("the phone's second ticket of the service: %d %s, want 409 %s", code, ecode, civiq.ETicketHeld)
	}
	if code, _, _ := takeRemote(t, p, ts.URL, "tax"); code != http.StatusCreated {
		t.Fatalf("the phone's ticket of another service: %d, want 201", code)
	}
	// Phones without the cookie fill the service to the hall's cap.
	for i := 0; i < 2; i++ {
		if code, _, _ := takeRemote(t, phone(t), ts.URL, "general"); code != http.StatusCreated {
			t.Fatalf("remote ticket %d: %d, want 201", i+2, code)
		}
	}
	if code, ecode, _ := takeRemote(t, phone(t), ts.URL, "general"); code != http.StatusConflict || ecode != civiq.ERemoteFull {
		t.Fatalf("past the hall's cap: %d %s, want 409 %s", code, ecode, civiq.ERemoteFull)
	}
	// Staff and kiosks are not held by the cap.
	ts.do(t, "POST", "/api/v1/halls/demo/tickets", ts.Admin, map[string]string{"service_id": "general"}).want(t, http.StatusCreated)
	// The hall allows two per phone: the first phone takes its second.
	h.Hall.MaxRemoteWaiting, h.Hall.RemotePerPhone = 100, 2
	ts.do(t, "PUT", "/api/v1/halls/demo", ts.Admin, h.Hall).want(t, http.StatusOK)
	if code, _, _ := takeRemote(t, p, ts.URL, "general"); code != http.StatusCreated {
		t.Fatalf("second ticket where the hall allows two: %d, want 201", code)
	}
	// One address: 30 in an hour, then 429 with Retry-After.
	for i := 8; ; i++ { // the 7 above counted
		code, ecode, hdr := takeRemote(t, phone(t), ts.URL, "social")
		if code == http.StatusTooManyRequests {
			if i != 31 || ecode != civiq.ERateLimited || hdr.Get("Retry-After") == "" {
				t.Fatalf("request %d: 429 %s, Retry-After %q; want the 31st, rate_limited, with Retry-After", i, ecode, hdr.Get("Retry-After"))
			}
			break
		}
		if code != http.StatusCreated || i > 31 {
			t.Fatalf("request %d from one address: %d", i, code)
		}
	}
	for _, bad := range []int{-1, civiq.MaxMaxRemoteWaiting + 1} {
		h.Hall.MaxRemoteWaiting = bad
		ts.do(t, "PUT", "/api/v1/halls/demo", ts.Admin, h.Hall).wantErr(t, http.StatusBadRequest, civiq.EInvalid, "max_remote_waiting")
	}
}

// Behind a trusted reverse proxy each citizen's address is counted, as
// X-Forwarded-For names it: one client's 31st remote ticket of the hour
// is refused, another's is not; an untrusted peer's header changes
// nothing; /metrics goes by the client too.
func TestRemoteTicketLimitsBehindProxy(t *testing.T) {
	ts := newTestServer(t, func(s *api.Server) { s.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} })
	var h struct{ Hall civiq.Hall }
	ts.do(t, "GET", "/api/v1/halls/demo", "", nil).want(t, http.StatusOK).json(t, &h)
	h.Hall.MaxRemoteWaiting = 100
	ts.do(t, "PUT", "/api/v1/halls/demo", ts.Admin, h.Hall).want(t, http.StatusOK)
	take := func(client string) int {
		return ts.do(t, "POST", "/api/v1/halls/demo/tickets", "", map[string]string{"service_id": "general", "channel": "remote"},
			header{"X-Forwarded-For", client}).Status
	}
	for i := 1; i <= 30; i++ {
		if got := take("203.0.113.7"); got != http.StatusCreated {
			t.Fatalf("client A's ticket %d: %d", i, got)
		}
	}
	if got := take("198.51.100.1, 203.0.113.7"); got != http.StatusTooManyRequests {
		t.Fatalf("client A's 31st (its own entry before the proxy's): %d, want 429", got)
	}
	if got := take("203.0.113.8"); got != http.StatusCreated {
		t.Fatalf("client B behind the same proxy: %d, want 201", got)
	}
	ts.do(t, "GET", "/metrics", "", nil).want(t, http.StatusOK) // the proxy's own, on loopback
	ts.do(t, "GET", "/metrics", "", nil, header{"X-Forwarded-For", "203.0.113.7"}).wantErr(t, http.StatusForbidden, civiq.EForbidden, "")

	plain := newTestServer(t) // no proxy trusted: the header is the client's word
	plain.do(t, "GET", "/metrics", "", nil, header{"X-Forwarded-For", "203.0.113.7"}).want(t, http.StatusOK)
}
