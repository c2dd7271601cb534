package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/origin"
)

func (s *Server) routes() {
	s.handle("POST /api/v1/auth/login", anyone, s.login)
	s.handle("POST /api/v1/auth/logout", signed, s.logout)
	s.handle("GET /api/v1/auth/me", signed, s.me)

	s.handle("GET /api/v1/halls", anyone, s.listHalls)
	s.handle("GET /api/v1/halls/{hall}", anyone, s.getHall)
	s.handle("PUT /api/v1/halls/{hall}", need(civiq.PermAdmin), s.putHall)
	s.handle("GET /api/v1/halls/{hall}/services", anyone, s.listServices)
	s.handle("PUT /api/v1/halls/{hall}/services/{service}", need(civiq.PermAdmin), s.putService)
	s.handle("GET /api/v1/halls/{hall}/counters", anyone, s.listCounters)
	s.handle("PUT /api/v1/halls/{hall}/counters/{counter}", need(civiq.PermAdmin), s.putCounter)
	s.handle("POST /api/v1/halls/{hall}/counters/{counter}/status", need(civiq.PermCounterAction), s.counterStatus)
	s.handle("GET /api/v1/halls/{hall}/status", anyone, s.hallStatus)
	s.handle("GET /api/v1/halls/{hall}/events", anyone, s.events)
	s.handle("POST /api/v1/halls/{hall}/announcements", need(civiq.PermManageHall), s.announce)

	s.handle("POST /api/v1/halls/{hall}/tickets", anyone, s.issue(newRateLimiter(func() time.Time { return s.Engine.Now() }))) // who may depends on the channel
	s.handle("GET /api/v1/tickets/{id}", anyone, s.getTicket)
	s.handle("POST /api/v1/halls/{hall}/counters/{counter}/call-next", need(civiq.PermCounterAction), s.callNext)
	s.handle("POST /api/v1/halls/{hall}/counters/{counter}/call", need(civiq.PermCounterAction), s.callTicket)
	for path, action := range map[string]string{
		"recall": civiq.ActRecall, "start": civiq.ActStart, "finish": civiq.ActFinish,
		"no-show": civiq.ActNoShow, "transfer": civiq.ActTransfer, "return": civiq.ActReturn,
	} {
		s.handle("POST /api/v1/tickets/{id}/"+path, need(civiq.PermCounterAction), s.act(action))
	}
	s.handle("POST /api/v1/tickets/{id}/on-behalf", need(civiq.PermCounterAction), s.setBehalf)
	s.handle("POST /api/v1/tickets/{id}/cancel", anyone, s.act(civiq.ActCancel)) // the holder of the id
	s.handle("POST /api/v1/tickets/{id}/rating", anyone, s.rate)
	s.handle("GET /api/v1/halls/{hall}/counters/{counter}/last-done", need(civiq.PermRate), s.lastDone) // api/ratings.go

	s.handle("GET /api/v1/users", need(civiq.PermAdmin), s.listUsers)
	s.handle("POST /api/v1/users", need(civiq.PermAdmin), s.createUser)
	s.handle("GET /api/v1/halls/{hall}/devices", need(civiq.PermAdmin), s.listDevices)
	s.handle("POST /api/v1/halls/{hall}/devices", need(civiq.PermAdmin), s.createDevice)
	s.handle("POST /api/v1/devices/pair", anyone, s.pair)

	s.plain("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	s.plain("GET /readyz", s.readyz)
	s.plain("GET /metrics", s.serveMetrics)
	s.plain("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, civiq.Errorf(civiq.ENotFound, "no such API route: %s %s", r.Method, r.URL.Path))
	})
	s.counterStatsRoutes() // api/counterstats.go: the counter page's day
	s.accountRoutes()      // api/account.go: changing one's own password
	s.adminRoutes()        // api/adminroutes.go: the admin page's changes and removals
	s.kioskRoutes()        // api/kiosk.go: waiting counts and expected waits per service
	s.ratingRoutes()       // api/ratings.go: 好差评 ratings, follow-ups, working-day calendars, reports
	s.guideRoutes()        // api/guides.go: 办事指南 guides (search, import, export) and 办件 cases
	s.receiptRoutes()      // api/receipts.go: verifying the cases' signed receipts, their public keys
	s.bookingRoutes()      // api/bookings.go: appointments: slots, bookings, check-ins, no-show strikes
	s.dashboardRoutes()    // api/dashboard.go: managers' dashboard, staffing planner, city overview (read-only)
	s.reportRoutes()       // api/reports.go: staff and service reports, as JSON, CSV or workbooks
	s.webhookRoutes()      // api/webhooks.go: webhooks and their delivery
	s.edgeRoutes()         // api/edge.go: edge nodes: their tokens, their link up to the city
	s.haochapingRoutes()   // api/haochaping.go: the 好差评 reporters to the provincial platform
	s.notifyRoutes()       // api/notify.go: notifications to citizens (SMS, WeChat, Web Push)
	s.edgeDownRoutes()     // api/edgedown.go: edge nodes: the hall's configuration and the city's requests, down
	s.ssoRoutes()          // api/sso.go: single sign-on's settings, for admins
}

func (s *Server) login(w http.ResponseWriter, r *http.Request, c *call) error {
	if origin.Cross(r) { // login CSRF: another site signing this browser in
		return civiq.Errorf(civiq.EForbidden, "sign in from this site's own pages")
	}
	var req loginRequest
	if err := decode(c.body, &req, "username", "password"); err != nil {
		return err
	}
	token, sess, u, err := s.Engine.Login(r.Context(), req.Username, req.Password)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: civiq.SessionCookie, Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: origin.HTTPS(r), MaxAge: int(civiq.SessionTTL / time.Second)})
	writeJSON(w, http.StatusOK, map[string]any{
		"token": token, "expires_at": sess.ExpiresAt.Format(time.RFC3339), "csrf_token": sess.CSRF,
		"user": map[string]any{"username": u.Username, "role": u.Role, "hall_ids": u.HallIDs},
	})
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, c *call) error {
	if c.session != nil {
		if err := s.Engine.Logout(r.Context(), c.token); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: civiq.SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, c *call) error {
	if c.p.Device != nil {
		writeJSON(w, http.StatusOK, map[string]any{"device": c.p.Device})
		return nil
	}
	if c.p.Edge != nil {
		writeJSON(w, http.StatusOK, map[string]any{"edge_token": c.p.Edge})
		return nil
	}
	out := map[string]any{"user": c.p.User}
	if c.session != nil {
		out["csrf_token"] = c.session.CSRF
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) listHalls(w http.ResponseWriter, r *http.Request, c *call) error {
	halls, err := s.Engine.Halls(r.Context())
	if err != nil {
		return err
	}
	out := make([]map[string]string, 0, len(halls))
	for _, h := range halls {
		out = append(out, map[string]string{"id": h.ID, "name": h.Name, "name_en": h.NameEn, "timezone": h.Timezone})
	}
	writeJSON(w, http.StatusOK, map[string]any{"halls": out})
	return nil
}

func (s *Server) getHall(w http.ResponseWriter, r *http.Request, c *call) error {
	h, err := s.Engine.Hall(r.Context(), r.PathValue("hall"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"hall": h})
	return nil
}

func (s *Server) putHall(w http.ResponseWriter, r *http.Request, c *call) error {
	h := civiq.Hall{LateReturnBehind: civiq.DefaultLateReturnBehind} // what an omitted field means
	if err := decode(c.body, &h, "name"); err != nil {
		return err
	}
	h.ID = r.PathValue("hall")
	if err := s.Engine.SaveHall(r.Context(), &h); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"hall": h})
	return nil
}

func (s *Server) listServices(w http.ResponseWriter, r *http.Request, c *call) error {
	svcs, err := s.Engine.Services(r.Context(), r.PathValue("hall"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"services": svcs})
	return nil
}

func (s *Server) putService(w http.ResponseWriter, r *http.Request, c *call) error {
	var req serviceRequest
	if err := decode(c.body, &req, "prefix", "name"); err != nil {
		return err
	}
	svc, keep := req.service(r.PathValue("hall"), r.PathValue("service"))
	if err := s.Engine.SaveService(r.Context(), &svc, keep); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"service": svc})
	return nil
}

func (s *Server) listCounters(w http.ResponseWriter, r *http.Request, c *call) error {
	cs, err := s.Engine.Counters(r.Context(), r.PathValue("hall"))
	if err != nil {
		return err
	}
	staff := c.p.Can(civiq.PermStaffView, r.PathValue("hall"), "")
	for i := range cs {
		clerk := cs[i].Clerk
		cs[i] = cs[i].Public()
		if staff {
			cs[i].Clerk = clerk // who is signed in where: staff only
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"counters": cs})
	return nil
}

func (s *Server) putCounter(w http.ResponseWriter, r *http.Request, c *call) error {
	var req counterRequest
	if err := decode(c.body, &req, "service_ids"); err != nil {
		return err
	}
	ctr := civiq.Counter{HallID: r.PathValue("hall"), ID: r.PathValue("counter"), Name: req.Name, ServiceIDs: req.ServiceIDs}
	if err := s.Engine.SaveCounter(r.Context(), &ctr); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"counter": ctr})
	return nil
}

func (s *Server) counterStatus(w http.ResponseWriter, r *http.Request, c *call) error {
	var req counterStatusRequest
	if err := decode(c.body, &req, "status"); err != nil {
		return err
	}
	key, err := idem(r, c)
	if err != nil {
		return err
	}
	ctr, err := s.Engine.SetCounterStatus(r.Context(), r.PathValue("hall"), r.PathValue("counter"), req.Status, req.Reason, key)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"counter": ctr})
	return nil
}

func (s *Server) hallStatus(w http.ResponseWriter, r *http.Request, c *call) error {
	st, err := s.Engine.Status(r.Context(), r.PathValue("hall"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (s *Server) announce(w http.ResponseWriter, r *http.Request, c *call) error {
	var req announcementRequest
	if err := decode(c.body, &req, "text"); err != nil {
		return err
	}
	if err := s.Engine.Announce(r.Context(), r.PathValue("hall"), strings.TrimSpace(req.Text)); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"announcement": map[string]string{"text": req.Text}})
	return nil
}

// issue answers 201 {"ticket"}. An anonymous remote ticket counts against
// its client address (remoteticket.go) and is tied to the phone's cookie.
func (s *Server) issue(lim *rateLimiter) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error { return s.issueTicket(lim, w, r, c) }
}

func (s *Server) issueTicket(lim *rateLimiter, w http.ResponseWriter, r *http.Request, c *call) error {
	req, err := decodeIssue(c.body)
	if err != nil {
		return err
	}
	key, err := idem(r, c)
	if err != nil {
		return err
	}
	holder := ""
	if c.p.Anonymous() && (req.Channel == "" || req.Channel == civiq.ChannelRemote) {
		if holder, err = remoteHolder(lim, w, r, r.PathValue("hall")); err != nil {
			return err
		}
	}
	t, err := s.Engine.IssueTicketAs(r.Context(), c.p, civiq.IssueRequest{HallID: r.PathValue("hall"), ServiceID: req.ServiceID, Channel: req.Channel,
		PriorityGroup: req.PriorityGroup, Holder: holder, IDNumber: req.IDNumber, GuideID: req.GuideID, OnBehalf: req.OnBehalf}, key)
	if err != nil {
		// Refusals by quota are counted here, where every page's and
		// device's ticket comes through; the service and the hall exist
		// (the quota was read), so the labels stay few.
		var qe *civiq.Error
		if s.metrics != nil && errors.As(err, &qe) && qe.Code == civiq.EQuotaReached {
			s.metrics.QuotaRefusals.WithLabelValues(r.PathValue("hall"), req.ServiceID, qe.Field).Inc()
		}
		return err
	}
	writeJSON(w, http.StatusCreated, ticketAnswer{t})
	return nil
}

func (s *Server) getTicket(w http.ResponseWriter, r *http.Request, c *call) error {
	t, err := s.Engine.Ticket(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ticketAnswer{t})
	return nil
}

func (s *Server) callNext(w http.ResponseWriter, r *http.Request, c *call) error {
	key, err := idem(r, c)
	if err != nil {
		return err
	}
	t, err := s.Engine.CallNext(r.Context(), r.PathValue("hall"), r.PathValue("counter"), key)
	if err != nil {
		return err
	}
	if t == nil {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	writeJSON(w, http.StatusOK, ticketAnswer{t})
	return nil
}

// callTicket calls a chosen waiting ticket out of order, with a reason.
func (s *Server) callTicket(w http.ResponseWriter, r *http.Request, c *call) error {
	var body callTicketRequest
	if err := decode(c.body, &body, "ticket_id", "reason"); err != nil {
		return err
	}
	key, err := idem(r, c)
	if err != nil {
		return err
	}
	t, err := s.Engine.CallTicket(r.Context(), r.PathValue("hall"), r.PathValue("counter"), body.TicketID, body.Reason, key)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ticketAnswer{t})
	return nil
}

func (s *Server) act(action string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		req := civiq.ActRequest{TicketID: r.PathValue("id"), Action: action}
		if action == civiq.ActTransfer {
			var body transferRequest
			if err := decode(c.body, &body); err != nil {
				return err
			}
			req.ServiceID, req.CounterID, req.Clerk, req.Note = body.ServiceID, body.CounterID, body.Clerk, body.Note
		}
		key, err := idem(r, c)
		if err != nil {
			return err
		}
		t, err := s.Engine.Act(r.Context(), req, key)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, ticketAnswer{t})
		return nil
	}
}

// setBehalf marks the ticket served as taken on someone's behalf (帮办代办):
// {"role"}, "" or null to unmark.
func (s *Server) setBehalf(w http.ResponseWriter, r *http.Request, c *call) error {
	var body behalfRequest
	if err := decode(c.body, &body); err != nil {
		return err
	}
	t, err := s.Engine.SetTicketBehalf(r.Context(), r.PathValue("id"), body.OnBehalf)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ticketAnswer{t})
	return nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, c *call) error {
	us, err := s.Engine.Users(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": us})
	return nil
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, c *call) error {
	var req userRequest
	if err := decode(c.body, &req, "username", "password", "role"); err != nil {
		return err
	}
	u := civiq.User{Username: req.Username, Role: req.Role, HallIDs: req.HallIDs}
	if err := s.Engine.CreateUser(r.Context(), &u, req.Password); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"user": u})
	return nil
}

func (s *Server) listDevices(w http.ResponseWriter, r *http.Request, c *call) error {
	ds, err := s.Engine.Devices(r.Context(), r.PathValue("hall"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"devices": ds})
	return nil
}

func (s *Server) createDevice(w http.ResponseWriter, r *http.Request, c *call) error {
	var req deviceRequest
	if err := decode(c.body, &req, "kind"); err != nil {
		return err
	}
	d := civiq.Device{Kind: req.Kind, HallID: r.PathValue("hall"), CounterID: req.CounterID, Name: req.Name}
	if err := s.Engine.CreateDevice(r.Context(), &d); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"device": d})
	return nil
}

func (s *Server) pair(w http.ResponseWriter, r *http.Request, c *call) error {
	var req pairRequest
	if err := decode(c.body, &req, "code"); err != nil {
		return err
	}
	token, d, err := s.Engine.PairDevice(r.Context(), strings.TrimSpace(req.Code))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"token": token, "device": d})
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.Ready != nil {
		if err := s.Ready(r.Context()); err != nil {
			writeError(w, r, civiq.Errorf(civiq.EUnavailable, "storage is not available"))
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ready")
	s.writeNodeStatus(w, r) // api/edge.go: the node's role and link
}
