package web

import "net/http"

func (s *Site) registerReports(mux *http.ServeMux) {
	mux.HandleFunc("GET /halls/{hall}/reports", s.reportsPage)
}

// reportsPage is the staff and service reports of a period, for managers:
// the page asks GET /api/v1/halls/{hall}/reports/staff and
// /reports/services (api/reports.go) and draws tables and charts, with
// the CSV and workbook links of the same routes.
func (s *Site) reportsPage(w http.ResponseWriter, r *http.Request) {
	if v, ok := s.managerPage(w, r); ok {
		s.render(w, r, http.StatusOK, "reports", "reports.title", v)
	}
}
