package web

import "net/http"

// registerPages adds the hall's pages; each lives in the file named after
// it, with its template, script, style and catalogues named the same way.
func (s *Site) registerPages(mux *http.ServeMux) {
	s.registerKiosk(mux)   // kiosk.go: /halls/{hall}/kiosk, /t/{id}, ticket QR and ESC/POS
	s.registerCounter(mux) // counter.go: /halls/{hall}/counter/{counter}, /halls/{hall}/rate/{counter}
	s.registerDisplay(mux) // display.go: /halls/{hall}/display
	s.registerAdmin(mux)   // admin.go: /admin
	s.registerBook(mux)    // book.go: /halls/{hall}/book (citizens), /halls/{hall}/bookings (staff)
}
