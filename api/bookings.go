package api

import (
	"crypto/sha256"
	"encoding/hex"
	"github.com/civiq/civiq/qr"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/ical"
)

// Appointments (civiq's booking.go, slots.go, strikes.go): slots, real-name
// bookings, check-in at the kiosk, no-show strikes, the hall's booking
// rules. Citizens book without signing in; rate limits per mobile number and
// per client address hold off scalpers (429 rate_limited).
func (s *Server) bookingRoutes() {
	lim := newRateLimiter(func() time.Time { return s.Engine.Now() })
	s.handle("GET /api/v1/halls/{hall}/services/{service}/slots", anyone, s.slots)
	s.handle("GET /api/v1/halls/{hall}/booking-settings", anyone, s.getBookingSettings)
	s.handle("PUT /api/v1/halls/{hall}/booking-settings", need(civiq.PermAdmin), s.putBookingSettings)
	s.handle("POST /api/v1/halls/{hall}/bookings", anyone, s.book(lim))
	s.handle("GET /api/v1/halls/{hall}/bookings", need(civiq.PermStaffView), s.listBookings)
	s.handle("GET /api/v1/bookings/{code}", anyone, s.getBooking(lim))
	s.handle("DELETE /api/v1/bookings/{code}", anyone, s.cancelBooking(lim))
	s.handle("GET /api/v1/bookings/{code}/ics", anyone, s.bookingICS(lim))
	s.handle("GET /api/v1/bookings/{code}/qr.svg", anyone, s.bookingQR)
	s.handle("GET /api/v1/booking-passes/qr.svg", anyone, s.bookingPassQR)
	s.handle("POST /api/v1/halls/{hall}/checkins", need(civiq.PermIssueTicket), s.checkIn)
	s.handle("GET /api/v1/halls/{hall}/strikes", need(civiq.PermStaffView), s.listStrikes)
	s.handle("POST /api/v1/halls/{hall}/strikes/{strike}/clear", need(civiq.PermStaffView), s.clearStrike)
}

// The request bodies of these routes.

type bookRequest struct {
	ServiceID string `json:"service_id"`
	SlotStart string `json:"slot_start"`
	Name      string `json:"name"`
	Phone     string `json:"phone"`
	IDNumber  string `json:"id_number"`
}

type checkInRequest struct {
	Code     string `json:"code"`
	IDLast4  string `json:"id_last4"`
	IDNumber string `json:"id_number"` // from a card reader
	Name     string `json:"name"`      // from a card reader
	Pass     string `json:"pass"`      // the booking's signed pass, at an edge node
}

type clearStrikeRequest struct {
	Reason string `json:"reason"`
}

// rateLimiter counts requests per key in fixed windows of an hour, by the
// engine's clock. Keys hold no phone number in clear.
type rateLimiter struct {
	now  func() time.Time
	mu   sync.Mutex
	hits map[string]*rateWindow
}

type rateWindow struct {
	start time.Time
	n     int
}

// rateWindowLength is the window of the limits.
const rateWindowLength = time.Hour

// lookupFailuresPerHour bounds the failed look-ups of a booking (a code
// with a wrong ID) from one address: codes and ID digits cannot be probed.
const lookupFailuresPerHour = 30

func newRateLimiter(now func() time.Time) *rateLimiter {
	return &rateLimiter{now: now, hits: map[string]*rateWindow{}}
}

// take counts a request under key against limit (0: no limit); it reports
// false, with the wait until the window ends, once the limit is reached.
func (l *rateLimiter) take(key string, limit int) (bool, time.Duration) {
	if limit <= 0 {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.hits) > 100_000 {
		for k, w := range l.hits {
			if now.Sub(w.start) >= rateWindowLength {
				delete(l.hits, k)
			}
		}
	}
	w := l.hits[key]
	if w == nil || now.Sub(w.start) >= rateWindowLength || now.Before(w.start) {
		w = &rateWindow{start: now}
		l.hits[key] = w
	}
	if w.n >= limit {
		return false, w.start.Add(rateWindowLength).Sub(now)
	}
	w.n++
	return true, 0
}

// over is true when the limit is reached: full, without counting.
func (l *rateLimiter) over(key string, limit int) (bool, time.Duration) {
	if limit <= 0 {
		return false, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.hits[key]
	if w == nil || now.Sub(w.start) >= rateWindowLength || now.Before(w.start) || w.n < limit {
		return false, 0
	}
	return true, w.start.Add(rateWindowLength).Sub(now)
}

// rateLimited is the 429 answer, with Retry-After.
func rateLimited(w http.ResponseWriter, wait time.Duration, what string) error {
	w.Header().Set("Retry-After", retryAfter(wait))
	return civiq.Errorf(civiq.ERateLimited, "too many requests %s: try again later", what)
}

func hashKey(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:12])
}

func (s *Server) slots(w http.ResponseWriter, r *http.Request, c *call) error {
	day, err := s.Engine.Slots(r.Context(), r.PathValue("hall"), r.PathValue("service"), r.URL.Query().Get("date"))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, day)
	return nil
}

func (s *Server) getBookingSettings(w http.ResponseWriter, r *http.Request, c *call) error {
	set, err := s.Engine.BookingSettings(r.Context(), r.PathValue("hall"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"settings": set})
	return nil
}

func (s *Server) putBookingSettings(w http.ResponseWriter, r *http.Request, c *call) error {
	set := civiq.DefaultBookingSettings() // what an omitted field means
	if err := decode(c.body, &set); err != nil {
		return err
	}
	if err := s.Engine.SetBookingSettings(r.Context(), r.PathValue("hall"), &set); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"settings": set})
	return nil
}

// bookingLinks are the addresses of a booking's QR code and calendar file.
func bookingLinks(b *civiq.Booking, last4 string) map[string]string {
	code := url.PathEscape(b.Code)
	return map[string]string{
		"qr_url":  "/api/v1/bookings/" + code + "/qr.svg",
		"ics_url": "/api/v1/bookings/" + code + "/ics?id_last4=" + url.QueryEscape(last4),
	}
}

// book answers 201 {"booking":{...},"qr_url","ics_url"}. Before anything,
// the hall's limits per client address and per mobile number.
func (s *Server) book(lim *rateLimiter) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		var req bookRequest
		if err := decode(c.body, &req, "service_id", "slot_start", "name", "phone", "id_number"); err != nil {
			return err
		}
		hallID := r.PathValue("hall")
		set, err := s.Engine.BookingSettings(r.Context(), hallID)
		if err != nil {
			return err
		}
		if ok, wait := lim.take("book addr "+hallID+" "+civiq.AddrKey(clientIP(r)), set.AddressLimitPerHour); !ok {
			return rateLimited(w, wait, "from this address")
		}
		if phone, err := civiq.BookingPhone(req.Phone); err == nil {
			if ok, wait := lim.take("book phone "+hallID+" "+hashKey(phone), set.PhoneLimitPerHour); !ok {
				return rateLimited(w, wait, "for this mobile number")
			}
		}
		b, err := s.Engine.Book(r.Context(), civiq.BookRequest{HallID: hallID, ServiceID: req.ServiceID, SlotStart: req.SlotStart,
			Name: req.Name, Phone: req.Phone, IDNumber: req.IDNumber})
		if err != nil {
			return err
		}
		out := map[string]any{"booking": b}
		for k, v := range bookingLinks(b, civiq.Last4(req.IDNumber)) {
			out[k] = v
		}
		writeJSON(w, http.StatusCreated, out)
		return nil
	}
}

// lookup guards the routes that find a booking by its code and the last 4
// characters of its ID number: an address that failed too often is told to
// wait; a failure (404) counts.
func lookup(lim *rateLimiter, w http.ResponseWriter, r *http.Request, fn func() error) error {
	key := "lookup " + civiq.AddrKey(clientIP(r))
	if over, wait := lim.over(key, lookupFailuresPerHour); over {
		return rateLimited(w, wait, "with wrong booking codes or ID numbers from this address")
	}
	err := fn()
	if civiq.ErrorCode(err) == civiq.ENotFound {
		lim.take(key, lookupFailuresPerHour)
	}
	return err
}

func (s *Server) getBooking(lim *rateLimiter) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		return lookup(lim, w, r, func() error {
			last4 := r.URL.Query().Get("id_last4")
			b, _, _, err := s.Engine.FindBooking(r.Context(), r.PathValue("code"), last4, c.p)
			if err != nil {
				return err
			}
			out := map[string]any{"booking": b}
			for k, v := range bookingLinks(b, last4) {
				out[k] = v
			}
			w.Header().Set("Cache-Control", "no-store")
			writeJSON(w, http.StatusOK, out)
			return nil
		})
	}
}

// cancelBooking cancels with ?id_last4= (or as staff of the hall) and
// answers 200 {"booking":{... "status":"cancelled"}}.
func (s *Server) cancelBooking(lim *rateLimiter) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		return lookup(lim, w, r, func() error {
			b, err := s.Engine.CancelBooking(r.Context(), civiq.CancelRequest{Code: r.PathValue("code"), IDLast4: r.URL.Query().Get("id_last4"), By: c.p})
			if err != nil {
				return err
			}
			writeJSON(w, http.StatusOK, map[string]any{"booking": b})
			return nil
		})
	}
}

// bookingICS answers the booking as an iCalendar file (text/calendar), in
// Chinese or with ?lang=en in English.
func (s *Server) bookingICS(lim *rateLimiter) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		return lookup(lim, w, r, func() error {
			b, hall, svc, err := s.Engine.FindBooking(r.Context(), r.PathValue("code"), r.URL.Query().Get("id_last4"), c.p)
			if err != nil {
				return err
			}
			set, err := s.Engine.BookingSettings(r.Context(), hall.ID)
			if err != nil {
				return err
			}
			ev := ical.Booking(b, hall, svc, set, r.URL.Query().Get("lang"), s.Engine.Now())
			h := w.Header()
			h.Set("Content-Type", "text/calendar; charset=utf-8")
			h.Set("Content-Disposition", `attachment; filename="booking-`+b.Code+`.ics"`)
			h.Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusOK)
			w.Write(ical.Write(ev))
			return nil
		})
	}
}

// bookingQR draws the QR code of a booking code as SVG, for the kiosk's
// scanner. It holds the code only and says nothing of whether it exists.
func (s *Server) bookingQR(w http.ResponseWriter, r *http.Request, c *call) error {
	code := civiq.NormalizeCode(r.PathValue("code"))
	if code == "" {
		return civiq.Errorf(civiq.ENotFound, "not a booking code")
	}
	return writeQR(w, code)
}

// bookingPassQR draws the QR code of a booking's signed pass (?pass=), the
// holder's: scanned at the kiosk it gives the code, and at an edge node
// cut off from the city the pass too. It checks the pass's form only.
func (s *Server) bookingPassQR(w http.ResponseWriter, r *http.Request, c *call) error {
	pass := strings.TrimSpace(r.URL.Query().Get("pass"))
	if _, _, _, err := civiq.ParseBookingPass(pass); err != nil {
		return civiq.FieldErrorf("pass", "not a booking pass")
	}
	return writeQR(w, pass)
}

// writeQR answers the QR code of text as SVG.
func writeQR(w http.ResponseWriter, text string) error {
	svg, err := qr.SVG(text)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "image/svg+xml")
	h.Set("Cache-Control", "private, max-age=86400")
	w.WriteHeader(http.StatusOK)
	w.Write(svg)
	return nil
}

// checkIn answers 201 {"ticket":{... "channel":"appointment"},"booking":{...}}.
func (s *Server) checkIn(w http.ResponseWriter, r *http.Request, c *call) error {
	var req checkInRequest
	if err := decode(c.body, &req); err != nil {
		return err
	}
	if req.Code == "" && req.Pass == "" { // a pass names its code
		return civiq.FieldErrorf("code", "code is required")
	}
	key, err := idem(r, c)
	if err != nil {
		return err
	}
	t, b, err := s.Engine.CheckIn(r.Context(), civiq.CheckInRequest{HallID: r.PathValue("hall"), Code: req.Code, IDLast4: req.IDLast4,
		IDNumber: req.IDNumber, Name: req.Name, Pass: req.Pass}, key)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"ticket": t, "booking": b})
	return nil
}

func (s *Server) listBookings(w http.ResponseWriter, r *http.Request, c *call) error {
	date := r.URL.Query().Get("date")
	list, err := s.Engine.HallBookings(r.Context(), r.PathValue("hall"), date)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"bookings": list})
	return nil
}

func (s *Server) listStrikes(w http.ResponseWriter, r *http.Request, c *call) error {
	all, _ := strconv.ParseBool(r.URL.Query().Get("all"))
	list, err := s.Engine.Strikes(r.Context(), r.PathValue("hall"), all)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"strikes": list})
	return nil
}

func (s *Server) clearStrike(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := strconv.ParseInt(r.PathValue("strike"), 10, 64)
	if err != nil || id <= 0 {
		return civiq.Errorf(civiq.ENotFound, "unknown strike %s", r.PathValue("strike"))
	}
	var req clearStrikeRequest
	if err := decode(c.body, &req, "reason"); err != nil {
		return err
	}
	by := c.p.Key()
	if c.p.User != nil {
		by = c.p.User.Username
	}
	st, err := s.Engine.ClearStrike(r.Context(), r.PathValue("hall"), id, req.Reason, by)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"strike": st})
	return nil
}
