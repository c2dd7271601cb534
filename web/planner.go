package web

import "net/http"

func (s *Site) registerPlanner(mux *http.ServeMux) {
	mux.HandleFunc("GET /halls/{hall}/planner", s.plannerPage)
}

// plannerDays are the periods of history the planner offers, in days.
var plannerDays = []int{7, 14, 28, 56, 92}

// plannerView is what planner.html gets.
type plannerView struct {
	managerView
	Days []int
}

// plannerPage is the staffing planner: the page asks GET or POST
// /api/v1/halls/{hall}/plan (api/plan.go) and draws the answer as a chart
// and a table, with the CSV from the same route.
func (s *Site) plannerPage(w http.ResponseWriter, r *http.Request) {
	if v, ok := s.managerPage(w, r); ok {
		s.render(w, r, http.StatusOK, "planner", "planner.title", plannerView{v, plannerDays})
	}
}
