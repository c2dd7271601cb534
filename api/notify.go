package api

import (
	"encoding/json"
	"net/http"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/notify"
	"github.com/civiq/civiq/webpush"
	"github.com/civiq/civiq/wechat"
)

// notifyRoutes: notifications to citizens (civiq/notify.go): a hall's
// settings (admins set, managers read; secrets never answered), opting a
// ticket in and out (whoever holds its id), the messages and their report
// (managers), a test message (admins).
func (s *Server) notifyRoutes() {
	s.handle("PUT /api/v1/halls/{hall}/notifications", need(civiq.PermAdmin), func(w http.ResponseWriter, r *http.Request, c *call) error {
		var in civiq.NotifySettings
		if err := decode(c.body, &in); err != nil {
			return err
		}
		v, err := s.Engine.SetNotifySettings(r.Context(), c.p, r.PathValue("hall"), in)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"notifications": v})
		return nil
	})
	s.handle("GET /api/v1/halls/{hall}/notifications", need(civiq.PermManageHall), func(w http.ResponseWriter, r *http.Request, c *call) error {
		v, err := s.Engine.NotifySettingsOf(r.Context(), c.p, r.PathValue("hall"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"notifications": v})
		return nil
	})
	s.handle("GET /api/v1/halls/{hall}/notifications/messages", need(civiq.PermManageHall), func(w http.ResponseWriter, r *http.Request, c *call) error {
		ms, err := s.Engine.NotifyMessages(r.Context(), c.p, r.PathValue("hall"), r.URL.Query().Get("date"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"messages": ms})
		return nil
	})
	s.handle("GET /api/v1/halls/{hall}/notifications/report", need(civiq.PermManageHall), func(w http.ResponseWriter, r *http.Request, c *call) error {
		q := r.URL.Query()
		rep, err := s.Engine.NotifyReportOf(r.Context(), c.p, r.PathValue("hall"), q.Get("from"), q.Get("to"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"report": rep})
		return nil
	})
	s.handle("POST /api/v1/halls/{hall}/notifications/test", need(civiq.PermAdmin), func(w http.ResponseWriter, r *http.Request, c *call) error {
		var req struct {
			Phone string `json:"phone"`
		}
		if err := decode(c.body, &req, "phone"); err != nil {
			return err
		}
		res, err := s.Engine.TestNotify(r.Context(), c.p, r.PathValue("hall"), req.Phone)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"result": res})
		return nil
	})
	// The SMS providers' pushes: delivery reports and replies, to a URL
	// with the hall's callback token (civiq/notifyreport.go).
	s.handle("POST /api/v1/halls/{hall}/notifications/callbacks/{token}/{provider}/{what}", anyone, func(w http.ResponseWriter, r *http.Request, c *call) error {
		provider, hall, token := r.PathValue("provider"), r.PathValue("hall"), r.PathValue("token")
		if provider != "aliyun" && provider != "tencent" {
			return civiq.Errorf(civiq.ENotFound, "no such callback")
		}
		var err error
		switch r.PathValue("what") {
		case "report":
			var rs []civiq.DeliveryReport
			if rs, err = notify.ParseReports(provider, c.body); err == nil {
				_, err = s.Engine.RecordReports(r.Context(), hall, token, provider, rs)
			}
		case "reply":
			var rs []civiq.SMSReply
			if rs, err = notify.ParseReplies(provider, c.body); err == nil {
				_, err = s.Engine.RecordReplies(r.Context(), hall, token, rs)
			}
		default:
			err = civiq.Errorf(civiq.ENotFound, "no such callback")
		}
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, notify.CallbackAnswer(provider))
		return nil
	})
	s.handle("POST /api/v1/tickets/{id}/notify", anyone, s.optIn) // the holder of the id, or staff
	s.handle("DELETE /api/v1/tickets/{id}/notify", anyone, func(w http.ResponseWriter, r *http.Request, c *call) error {
		medium := r.URL.Query().Get("medium")
		if medium == "" {
			medium = civiq.MediumSMS
		}
		if err := s.Engine.OptOut(r.Context(), r.PathValue("id"), medium); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// optInRequest names one address: a mobile number, a push subscription,
// or a WeChat openid.
type optInRequest struct {
	Phone   string          `json:"phone"`
	WebPush json.RawMessage `json:"webpush"`
	WeChat  *struct {
		OpenID string `json:"openid"`
	} `json:"wechat"`
	Lang string `json:"lang"`
}

func (s *Server) optIn(w http.ResponseWriter, r *http.Request, c *call) error {
	var req optInRequest
	if err := decode(c.body, &req); err != nil {
		return err
	}
	in := civiq.OptInRequest{Lang: req.Lang}
	n := 0
	if req.Phone != "" {
		in.Medium, in.Address, n = civiq.MediumSMS, req.Phone, n+1
	}
	if len(req.WebPush) > 0 && string(req.WebPush) != "null" {
		// Kept as the browser's subscription alone: endpoint and keys.
		sub, err := webpush.ParseSubscription(req.WebPush)
		if err != nil {
			return civiq.FieldErrorf("webpush", "%v", err)
		}
		b, _ := json.Marshal(sub)
		in.Medium, in.Address, n = civiq.MediumWebPush, string(b), n+1
	}
	if req.WeChat != nil {
		if !wechat.ValidOpenID(req.WeChat.OpenID) {
			return civiq.FieldErrorf("wechat.openid", "not an openid")
		}
		in.Medium, in.Address, n = civiq.MediumWeChat, req.WeChat.OpenID, n+1
	}
	if n != 1 {
		return civiq.FieldErrorf("phone", "send one of phone, webpush or wechat")
	}
	if err := s.Engine.OptIn(r.Context(), r.PathValue("id"), in); err != nil {
		return err
	}
	to := in.Address
	if in.Medium == civiq.MediumSMS {
		to, _ = civiq.ParsePhone(to) // it read once already
	}
	writeJSON(w, http.StatusCreated, map[string]any{"opt_in": map[string]string{"medium": in.Medium, "to": civiq.MaskAddress(in.Medium, to)}})
	return nil
}
