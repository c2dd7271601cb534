package web

import "net/http"

// scriptStrings names, for each page (its template), the catalogue entries
// its script uses (window.CIVIQ.t, read with CIVIQ.tr): a key, or a prefix
// ending in "." for every key that starts with it. It is the one place
// where a page's strings are listed; New checks that each names an entry.
var scriptStrings = map[string][]string{
	"kiosk":        {"kiosk.", "behalf.", "error.network", "wait.about"},
	"ticket":       {"ticket.", "kiosk.appt_mark", "kiosk.appt_wait_until", "error.network", "wait.about"}, // an appointment's slot: the kiosk ticket's words
	"display":      {"display.", "counter.pause."},                                                         // pause reasons: CIVIQ.pauseReason
	"window":       {"window.", "counter.pause."},
	"counter":      {"counter.", "behalf.", "error.", "case.status."},
	"rate":         {"rate.", "error."},
	"admin":        {"admin.", "role."},
	"book":         {"book.", "ticket.status.", "error.network"},
	"book_staff":   {"book.", "ticket.status.", "error.network"},
	"guide_list":   {"guide.", "error.network"},
	"guide":        {"guide.", "error.network"},
	"guide_intake": {"case.", "guide.", "error.network"},
	"case_desk":    {"case.", "behalf.", "error.network"},
	"dashboard":    {"dashboard.", "wait.about", "rate.s1", "rate.s2", "rate.s3", "rate.s4", "rate.s5", "counter.pause."},
	"planner":      {"planner."},
	"reports":      {"reports."},
	"city":         {"city."},
	"followups":    {"fu.", "rate.s1", "rate.s2", "rate.s3", "rate.s4", "rate.s5", "error.network"},
}

// registerPages adds the hall's pages; each lives in the file named after
// it, with its template, script, style and catalogues named the same way.
func (s *Site) registerPages(mux *http.ServeMux) {
	s.registerKiosk(mux)     // kiosk.go: /halls/{hall}/kiosk, /t/{id}, ticket QR and ESC/POS
	s.registerPush(mux)      // push.go: /t/sw.js (the ticket pages' service worker)
	s.registerCounter(mux)   // counter.go: /halls/{hall}/counter/{counter}, /halls/{hall}/rate/{counter}
	s.registerDisplay(mux)   // display.go: /halls/{hall}/display
	s.registerWindow(mux)    // window.go: /halls/{hall}/window/{counter} (窗口屏, the screen above a counter)
	s.registerAdmin(mux)     // admin.go: /admin
	s.registerAccount(mux)   // account.go: /account/password (one's own password)
	s.registerBook(mux)      // book.go: /halls/{hall}/book (citizens), /halls/{hall}/bookings (staff)
	s.registerGuides(mux)    // guides.go: /halls/{hall}/guides (办事指南), /c/{number} (办件进度), /halls/{hall}/cases/new
	s.registerReceipts(mux)  // receipts.go: /receipts/{code} (signed receipts), /receipts/verify
	s.registerDashboard(mux) // dashboard.go: /halls/{hall}/dashboard (managers' live dashboard)
	s.registerPlanner(mux)   // planner.go: /halls/{hall}/planner (staffing planner)
	s.registerReports(mux)   // reports.go: /halls/{hall}/reports (staff and service reports)
	s.registerCity(mux)      // city.go: /city (every hall at a glance)
	s.registerFollowUps(mux) // followups.go: /halls/{hall}/followups (the managers' 好差评 desk)
	s.registerResults(mux)   // results.go: /halls/{hall}/results (the public 好差评 results)
}
