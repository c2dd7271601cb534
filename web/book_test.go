package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/api"
	"github.com/civiq/civiq/inmem"
	"github.com/civiq/civiq/sqlite"
	"github.com/civiq/civiq/web"
)

// bookServer is the whole server (API and pages) on the demo hall with a
// secret key, its clock on Monday 3 March 2031, 08:00 in Shanghai, moving
// with the real one. POST /test/clock {"to": RFC 3339} sets it.
type bookServer struct {
	URL    string
	Engine *civiq.Engine
	Admin  string // a session token of the user admin

	mu     sync.Mutex
	offset time.Duration
}

const bookAdminPassword = "admin-password-for-book-tests"

var bookTZ = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()

func (s *bookServer) now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Now().Add(s.offset)
}

func (s *bookServer) set(t time.Time) {
	s.mu.Lock()
	s.offset = time.Until(t)
	s.mu.Unlock()
}

func newBookServer(t testing.TB) *bookServer {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "civiq.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hub := inmem.NewHub()
	store.Publish = hub.Publish
	bs := &bookServer{}
	bs.set(time.Date(2031, 3, 3, 8, 0, 0, 0, bookTZ))
	eng := civiq.NewEngine(store)
	eng.Now = bs.now
	if eng.Sealer, err = civiq.NewSealer(bytes.Repeat([]byte{3}, civiq.SecretKeySize)); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Bootstrap(ctx, bookAdminPassword); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.LoadDemo(ctx); err != nil {
		t.Fatal(err)
	}
	bs.Engine = eng
	a := api.NewServer(eng, hub, api.NewMetrics())
	(&web.Site{Engine: eng, Version: "test"}).Register(a.Mux())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/test/clock" {
			var req struct {
				To time.Time `json:"to"`
			}
			if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			bs.set(req.To)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		a.ServeHTTP(w, r)
	}))
	bs.URL = srv.URL
	t.Cleanup(func() {
		a.Close()
		srv.Close()
		store.Close()
	})
	if bs.Admin, _, _, err = eng.Login(ctx, "admin", bookAdminPassword); err != nil {
		t.Fatal(err)
	}
	return bs
}

// get fetches a page with an optional session cookie; no redirects are
// followed.
func (s *bookServer) get(t testing.TB, path, session string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL+path, nil)
	if session != "" {
		req.AddCookie(&http.Cookie{Name: civiq.SessionCookie, Value: session})
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

func TestBookPage(t *testing.T) {
	s := newBookServer(t)
	code, h, body := s.get(t, "/halls/demo/book", "")
	if code != 200 || !strings.Contains(h.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /halls/demo/book: %d %s", code, h.Get("Content-Type"))
	}
	for _, want := range []string{`<html lang="zh-CN">`, "预约办理", "不动产登记", `name="id_number"`, "/static/book.js", "3月3日", "今天",
		"可预约今天起7天内的时段", `value="2031-03-08" disabled`} {
		if !strings.Contains(body, want) {
			t.Errorf("the booking page lacks %q", want)
		}
	}
	_, _, en := s.get(t, "/halls/demo/book?lang=en", "")
	for _, want := range []string{`<html lang="en">`, "Book an appointment", "Real estate registration", "3 Mar", "Today"} {
		if !strings.Contains(en, want) {
			t.Errorf("the English booking page lacks %q", want)
		}
	}
	if code, _, _ := s.get(t, "/halls/nope/book", ""); code != 404 {
		t.Errorf("unknown hall: %d", code)
	}
	// A closed service is not offered; bookings off, the page says so.
	set, _ := s.Engine.BookingSettings(context.Background(), "demo")
	set.Services = map[string]civiq.ServiceBooking{"tax": {Closed: true}}
	if err := s.Engine.SetBookingSettings(context.Background(), "demo", set); err != nil {
		t.Fatal(err)
	}
	if _, _, body := s.get(t, "/halls/demo/book", ""); strings.Contains(body, `value="tax"`) {
		t.Error("a closed service is offered")
	}
	set.Enabled = false
	s.Engine.SetBookingSettings(context.Background(), "demo", set)
	if _, _, body := s.get(t, "/halls/demo/book", ""); !strings.Contains(body, "暂未开放网上预约") || strings.Contains(body, `id="book-form"`) {
		t.Error("a hall without bookings still shows the form")
	}
}

func TestBookingsStaffPage(t *testing.T) {
	s := newBookServer(t)
	code, h, _ := s.get(t, "/halls/demo/bookings", "")
	if code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/login?next=") {
		t.Errorf("signed out: %d %s", code, h.Get("Location"))
	}
	code, _, body := s.get(t, "/halls/demo/bookings?date=2031-03-04", s.Admin)
	if code != 200 || !strings.Contains(body, `"date":"2031-03-04"`) || !strings.Contains(body, `id="checkin-form"`) {
		t.Errorf("admin: %d", code)
	}
	ctx := context.Background()
	u := &civiq.User{Username: "other-staff", Role: civiq.RoleStaff, HallIDs: []string{"demo"}}
	if err := s.Engine.SaveHall(ctx, &civiq.Hall{ID: "other", Name: "其他", Timezone: "Asia/Shanghai", Policy: civiq.PolicyFIFO, MaxCalls: 3}); err != nil {
		t.Fatal(err)
	}
	u.HallIDs = []string{"other"}
	if err := s.Engine.CreateUser(ctx, u, "other-staff-password"); err != nil {
		t.Fatal(err)
	}
	tok, _, _, err := s.Engine.Login(ctx, "other-staff", "other-staff-password")
	if err != nil {
		t.Fatal(err)
	}
	if code, _, body := s.get(t, "/halls/demo/bookings", tok); code != 403 || strings.Contains(body, "book.js") {
		t.Errorf("staff of another hall: %d", code)
	}
}
