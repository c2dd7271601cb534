package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/wechat"
)

// WeChat sends a hall's messages as its Official Account's template
// messages (模板消息), or subscription messages (订阅通知) when the settings'
// extra "message" is "subscribe", to the openid the phone page's WeChat
// login bound to the ticket (package wechat).
//
// The hall's settings: access_key_id the app id, access_key_secret the app
// secret, endpoint the API's address (https://api.weixin.qq.com unless
// set), templates the template id per kind; the extra "oauth_endpoint" the
// web page login's address (https://open.weixin.qq.com unless set). A template's fields are the
// message's parameters by name (number, ahead, counter, service); the
// extra "<kind>.<name>" or "<name>" renames one to the template's key
// ("called.counter": "keyword2"). The ticket's page is the message's link.
type WeChat struct {
	Client    *wechat.Client
	subscribe bool
	keys      map[string]string
	oauth     string // the web page login's address
}

// WeChatMaker makes the WeChat channels of halls, sending through httpc;
// halls of the same account share one client, and so one access token,
// which outlives a change of the hall's settings.
type WeChatMaker struct {
	HTTP *http.Client

	mu      sync.Mutex
	clients map[string]*wechat.Client // by base URL, app id and secret
}

// Make is the maker of the provider "wechat".
func (wm *WeChatMaker) Make(p *civiq.ProviderSettings) (civiq.Channel, error) {
	if p.KeyID == "" || p.Secret == "" {
		return nil, errors.New("wechat needs the app id (access_key_id) and the app secret (access_key_secret)")
	}
	mode := p.Extra["message"]
	if mode != "" && mode != "template" && mode != "subscribe" {
		return nil, errors.New(`wechat's extra "message" is "template" or "subscribe"`)
	}
	key := p.Endpoint + "\x00" + p.KeyID + "\x00" + p.Secret
	wm.mu.Lock()
	defer wm.mu.Unlock()
	if wm.clients == nil {
		wm.clients = map[string]*wechat.Client{}
	}
	c := wm.clients[key]
	if c == nil {
		c = &wechat.Client{AppID: p.KeyID, Secret: p.Secret, BaseURL: p.Endpoint, HTTP: wm.HTTP}
		wm.clients[key] = c
	}
	return &WeChat{Client: c, subscribe: mode == "subscribe", keys: p.Extra, oauth: p.Extra["oauth_endpoint"]}, nil
}

// LoginURL is where the phone page sends its visitor, inside WeChat, to
// tell civiq their openid (网页授权, snsapi_base: no consent screen); WeChat
// comes back to redirect with ?code=…&state=state.
func (w *WeChat) LoginURL(redirect, state string) string {
	return wechat.AuthorizeURL(w.oauth, w.Client.AppID, redirect, state)
}

// LoginOpenID exchanges the code the login came back with for the
// visitor's openid.
func (w *WeChat) LoginOpenID(ctx context.Context, code string) (string, error) {
	return w.Client.OpenID(ctx, code)
}

// Provider is "wechat".
func (w *WeChat) Provider() string { return "wechat" }

// Medium is civiq.MediumWeChat.
func (w *WeChat) Medium() string { return civiq.MediumWeChat }

// Rules: a registered template per kind; a value of at most 20 characters
// (the length of a template's thing field, the shortest free text); the
// ticket's link is the message's URL, no value.
func (w *WeChat) Rules() civiq.ParamRules {
	return civiq.ParamRules{Templates: true, MaxParamLen: 20, LinkApart: true}
}

// Send sends one message and reads WeChat's answer: an invalid token is
// refreshed and the message sent again once (package wechat); busy and
// over the day's calls are tried again later; an openid that does not
// follow the account, or refused, fails for good.
func (w *WeChat) Send(ctx context.Context, m *civiq.ChannelMessage) civiq.ChannelResult {
	if !wechat.ValidOpenID(m.To) {
		return civiq.ChannelResult{Status: civiq.NoticeFailed, Code: "openid", Error: "not an openid"}
	}
	msg := &wechat.Message{ToUser: m.To, TemplateID: m.Template, URL: m.Link, Data: map[string]wechat.Field{},
		ClientMsgID: m.ID}
	if len(msg.ClientMsgID) > 64 {
		sum := sha256.Sum256([]byte(m.ID))
		msg.ClientMsgID = hex.EncodeToString(sum[:])
	}
	for _, p := range m.Params {
		if p.Name == "link" {
			continue // the message's URL
		}
		k := w.keys[m.Kind+"."+p.Name]
		if k == "" {
			k = w.keys[p.Name]
		}
		if k == "" {
			k = p.Name
		}
		msg.Data[k] = wechat.Field{Value: p.Value}
	}
	send := w.Client.SendTemplate
	if w.subscribe {
		send = w.Client.SendSubscription
	}
	id, err := send(ctx, msg)
	if err == nil {
		return civiq.ChannelResult{Status: civiq.NoticeSent, Code: "0", ProviderID: strconv.FormatInt(id, 10)}
	}
	r := civiq.ChannelResult{Status: civiq.NoticeFailed, Retry: wechat.Temporary(err), Error: err.Error()}
	var e *wechat.Error
	if errors.As(err, &e) {
		r.Code = strconv.Itoa(e.Code)
		r.Gone = e.Code == wechat.CodeInvalidOpenID // no such follower: the opt-in goes
	} else {
		r.Code = "network"
	}
	if len(r.Error) > 200 {
		r.Error = strings.ToValidUTF8(r.Error[:200], "")
	}
	return r
}
