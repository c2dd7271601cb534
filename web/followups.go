package web

import (
	"net/http"
	"slices"

	"github.com/civiq/civiq"
)

func (s *Site) registerFollowUps(mux *http.ServeMux) {
	mux.HandleFunc("GET /halls/{hall}/followups", s.followUpsPage)
}

// followUpsJS is what the desk's script starts from: the hall, and the
// choices of its filters.
type followUpsJS struct {
	hallJS
	// Staff are the usernames of the hall's clerks and managers, for the
	// clerk filter.
	Staff []string `json:"staff"`
	// Me is the signed-in manager: a rejection they asked for waits for
	// someone else.
	Me string `json:"me"`
	// Reasons are the labels of the reason codes, in the page's language.
	Reasons map[string]string `json:"reasons"`
	// Moves is the state machine (followup.go), each status's next
	// statuses, so the page offers only what may come next.
	Moves map[string][]string `json:"moves"`
}

// followUpsView is what followups.html gets.
type followUpsView struct {
	managerView
	Statuses []string
}

// followUpsPage is the managers' 好差评 desk: every bad rating's case with
// filters, and one case with its history and the moves it may make next.
// It reads and moves cases through /api/v1/halls/{hall}/followups and
// /api/v1/followups/{id} (api/ratings.go); the contact phone is shown
// masked and read in clear only on request, which is audited.
func (s *Site) followUpsPage(w http.ResponseWriter, r *http.Request) {
	p, cfg, h, ok := s.managerGateFor(w, r, civiq.PermFollowUp)
	if !ok {
		return
	}
	users, err := s.Engine.Users(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rs, err := s.reasonChoices(r.Context(), h.ID, Lang(w, r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	js := followUpsJS{hallJS: *cfg, Staff: []string{}, Me: p.User.Username, Reasons: reasonLabels(rs), Moves: civiq.FollowUpNextMoves()}
	for _, u := range users {
		if u.Role != civiq.RoleAdmin && slices.Contains(u.HallIDs, h.ID) {
			js.Staff = append(js.Staff, u.Username)
		}
	}
	slices.Sort(js.Staff)
	conf, ok := s.scriptConfig(w, r, js)
	if !ok {
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	v := followUpsView{managerView{Hall: h, Name: h.NameIn(Lang(w, r)), Config: conf}, civiq.FollowUpStatuses}
	s.render(w, r, http.StatusOK, "followups", "fu.title", v)
}
