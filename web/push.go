package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/origin"
	"github.com/civiq/civiq/wechat"
)

// Browser notifications and WeChat on the ticket's page (issue 15): the
// service worker that shows the Web Push messages, and the WeChat login
// that binds the visitor's openid to the ticket.

// registerPush adds the service worker and the WeChat login.
func (s *Site) registerPush(mux *http.ServeMux) {
	mux.HandleFunc("GET /t/sw.js", s.serviceWorker)
	mux.HandleFunc("GET /t/{id}/wechat", s.wechatLogin)
	mux.HandleFunc("GET /t/{id}/wechat/back", s.wechatBack)
}

// ticketPush adds to the ticket page's data what its notification
// controls need besides the SMS form's: webpush, the installation's VAPID
// public key, when the hall sends browser notifications; wechat, the
// login's path, when it sends WeChat messages.
func (s *Site) ticketPush(r *http.Request, tn *civiq.TicketNotify, data map[string]any) {
	if slices.Contains(tn.Media, civiq.MediumWebPush) && s.VAPIDPublicKey != "" {
		data["webpush"] = s.VAPIDPublicKey
	}
	if slices.Contains(tn.Media, civiq.MediumWeChat) {
		data["wechat"] = "/t/" + url.PathEscape(r.PathValue("id")) + "/wechat"
	}
}

// serviceWorker answers the service worker at /t/sw.js, so that its scope
// is the ticket pages (/t/) without a Service-Worker-Allowed header. A
// browser checks it for changes at each registration; no-cache makes it
// ask civiq.
func (s *Site) serviceWorker(w http.ResponseWriter, r *http.Request) {
	b, err := staticFS.ReadFile("static/sw.js")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	w.Write(b)
}

// wechatLogins is what a WeChat channel offers the page: its web page
// login (notify.WeChat).
type wechatLogins interface {
	LoginURL(redirect, state string) string
	LoginOpenID(ctx context.Context, code string) (string, error)
}

// wechatState is the cookie that ties a login's answer to the browser that
// asked, for ten minutes.
const wechatState = "civiq_wx_state"

// wechatOf is the hall's WeChat login of a ticket.
func (s *Site) wechatOf(r *http.Request) (wechatLogins, error) {
	ch, err := s.Engine.TicketChannel(r.Context(), r.PathValue("id"), civiq.MediumWeChat)
	if err != nil {
		return nil, err
	}
	l, ok := ch.(wechatLogins)
	if !ok {
		return nil, civiq.Errorf(civiq.EConflict, "this hall's WeChat provider has no login")
	}
	return l, nil
}

// wechatLogin sends the ticket's holder, in WeChat, to the hall's Official
// Account's web page login (snsapi_base: no consent screen), which comes
// back to wechatBack with a code.
func (s *Site) wechatLogin(w http.ResponseWriter, r *http.Request) {
	l, err := s.wechatOf(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b := make([]byte, 16)
	rand.Read(b)
	state := base64.RawURLEncoding.EncodeToString(b)
	back := "/t/" + url.PathEscape(r.PathValue("id")) + "/wechat"
	http.SetCookie(w, &http.Cookie{Name: wechatState, Value: state, Path: back, MaxAge: 600, HttpOnly: true,
		Secure: origin.HTTPS(r), SameSite: http.SameSiteLaxMode})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, l.LoginURL(siteOrigin(r)+back+"/back", state), http.StatusFound)
}

// wechatBack is where the login comes back: the code is exchanged for the
// visitor's openid, which becomes the ticket's WeChat opt-in; then the
// ticket's page again, which says so.
func (s *Site) wechatBack(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(wechatState)
	q := r.URL.Query()
	if err != nil || q.Get("code") == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(q.Get("state"))) != 1 {
		s.fail(w, r, civiq.Errorf(civiq.EInvalid, "this WeChat login was not asked for by this browser, or is older than ten minutes: try again from the ticket's page"))
		return
	}
	l, err := s.wechatOf(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	openid, err := l.LoginOpenID(r.Context(), q.Get("code"))
	if err != nil {
		code := civiq.EInvalid // a code used already, or not this account's
		if wechat.Temporary(err) {
			code = civiq.EUnavailable // WeChat out of reach: try again soon
		}
		s.fail(w, r, civiq.Errorf(code, "WeChat did not tell who you are: try again from the ticket's page"))
		return
	}
	lang := Lang(w, r)
	if lang != "en" {
		lang = "zh"
	}
	id := r.PathValue("id")
	if err := s.Engine.OptIn(r.Context(), id, civiq.OptInRequest{Medium: civiq.MediumWeChat, Address: openid, Lang: lang}); err != nil {
		s.fail(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: wechatState, Value: "", Path: "/t/" + url.PathEscape(id) + "/wechat", MaxAge: -1})
	http.Redirect(w, r, "/t/"+url.PathEscape(id), http.StatusSeeOther)
}
