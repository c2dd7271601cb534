package web

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/civiq/civiq"
)

// adminHall is a hall in the page's hall picker.
type adminHall struct {
	ID, Name string
}

// adminData is what admin.html gets.
type adminData struct {
	IsAdmin bool
	Halls   []adminHall
	Hall    string // the hall picked
	// PriorityGroups are the green-channel groups a hall may admit.
	PriorityGroups []string
	Timezones      []string
	DeviceKinds    []string
	// NoticeKinds are the kinds of message a hall registers a template
	// for, space-separated, in the order the notifications form shows.
	NoticeKinds string
	// NoticeParams are each kind's parameters in order, as JSON: the
	// form names them under its template.
	NoticeParams string
	// Delivery are the sections of the subscribers' kinds, one template
	// ("delivery") for both: webhooks, then 好差评 reporters.
	Delivery []adminDelivery
}

// adminDelivery is one kind of subscriber's section of admin.html.
type adminDelivery struct {
	Lang    string
	Kind    string // data-delivery: "webhook" or "reporter" (admin-delivery.js)
	Section string // the section's name: "webhooks" or "haochaping"
}

func (s *Site) registerAdmin(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin", s.adminPage)
	mux.HandleFunc("GET /admin/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/admin", http.StatusSeeOther)
	})
}

// adminPage is administration: everything for admins; the announcements
// and calling policy of their halls for hall managers; a plain 403 for
// anyone else signed in, and the sign-in page for nobody.
func (s *Site) adminPage(w http.ResponseWriter, r *http.Request) {
	p, ok := s.signedIn(w, r)
	if !ok {
		return
	}
	u := p.User
	if u.Role != civiq.RoleAdmin && u.Role != civiq.RoleManager {
		s.render(w, r, http.StatusForbidden, "admin_forbidden", "admin.forbidden.title", nil)
		return
	}
	all, err := s.Engine.Halls(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	lang := Lang(w, r)
	d := adminData{IsAdmin: u.Role == civiq.RoleAdmin, PriorityGroups: civiq.DefaultPriorityGroups,
		Timezones:   []string{"Asia/Shanghai", "Asia/Urumqi", "Asia/Hong_Kong", "Asia/Macau", "Asia/Taipei", "UTC"},
		DeviceKinds: []string{civiq.DeviceKiosk, civiq.DeviceDisplay, civiq.DeviceCounter, civiq.DeviceRater},
		NoticeKinds: strings.Join(civiq.NoticeKinds, " "), NoticeParams: noticeParamsJSON(),
		Delivery: []adminDelivery{{lang, "webhook", "webhooks"}, {lang, "reporter", "haochaping"}}}
	for _, h := range all {
		if !d.IsAdmin && !p.Can(civiq.PermManageHall, h.ID, "") {
			continue
		}
		d.Halls = append(d.Halls, adminHall{h.ID, h.NameIn(lang)})
	}
	want := r.URL.Query().Get("hall")
	for _, h := range d.Halls {
		if h.ID == want || d.Hall == "" {
			d.Hall = h.ID
		}
	}
	s.render(w, r, http.StatusOK, "admin", "admin.title", d)
}

// noticeParamsJSON is {"kind":["param",…],…} of every kind of message.
func noticeParamsJSON() string {
	m := map[string][]string{}
	for _, k := range civiq.NoticeKinds {
		m[k] = civiq.NoticeParamNames(k)
	}
	b, _ := json.Marshal(m)
	return string(b)
}
