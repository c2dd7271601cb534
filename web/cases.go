package web

import (
	"net/http"

	"github.com/civiq/civiq"
)

// casePage is what the staff's case pages (intake, desk) start from.
type casePage struct {
	p    civiq.Principal
	hall *civiq.Hall
	svcs []civiq.Service
	lang string
	data map[string]any // Hall and HallName so far
}

// casePage opens a staff case page of the hall in the path: it answers 404
// for an unknown hall, sends nobody to sign in, and renders the page with
// the forbidden message for a user without perm. ok is false when the
// answer is written.
func (s *Site) casePage(w http.ResponseWriter, r *http.Request, perm civiq.Permission, page, title, forbidden string) (casePage, bool) {
	hall, svcs, ok := s.guideHall(w, r, r.PathValue("hall"))
	if !ok {
		return casePage{}, false
	}
	lang := Lang(w, r)
	p, ok := s.signedIn(w, r)
	if !ok {
		return casePage{}, false
	}
	w.Header().Set("Cache-Control", "no-store")
	data := map[string]any{"Hall": hall.ID, "HallName": hall.NameIn(lang)}
	if !p.Can(perm, hall.ID, "") {
		data["Error"] = forbidden
		s.render(w, r, http.StatusForbidden, page, title, data)
		return casePage{}, false
	}
	return casePage{p: p, hall: hall, svcs: svcs, lang: lang, data: data}, true
}

// caseDesk is the staff's 办件 desk: the hall's cases, newest first, with
// filters, and one case with its materials, its history and the moves it
// may make next (补正 received and 受理, 审核, 办结, 不予受理, 不予办理).
// The list shows applicants masked; the open case, which only staff of the
// hall see, shows them in clear.
func (s *Site) caseDesk(w http.ResponseWriter, r *http.Request) {
	pg, ok := s.casePage(w, r, civiq.PermStaffView, "case_desk", "case.desk.title", "case.desk.forbidden")
	if !ok {
		return
	}
	p, hall, data := pg.p, pg.hall, pg.data
	data["Statuses"] = civiq.CaseStatuses
	data["JSON"] = kioskJSON(map[string]any{"hall": hall.ID, "tz": hall.Timezone, "number": r.URL.Query().Get("number"),
		"act": p.Can(civiq.PermCounterAction, hall.ID, "")})
	s.render(w, r, http.StatusOK, "case_desk", "case.desk.title", data)
}
