// Package wechat speaks to a WeChat Official Account (微信公众号) through its
// documented HTTP API: the account's access token (the stable token,
// cached until it expires and refreshed by one request at a time), template
// messages (模板消息) and subscription messages (订阅通知) to a follower's
// openid, and the web page login (网页授权) that tells a phone page's
// visitor's openid. The base URLs are settings, for private deployments and
// tests. Standard library only: github.com/silenceper/wechat/v2 would bring
// about a hundred packages (Redis, memcache and logrus clients among them)
// for these four requests.
package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Default addresses of the API and of the web page login.
const (
	DefaultBaseURL  = "https://api.weixin.qq.com"
	DefaultOAuthURL = "https://open.weixin.qq.com"
)

// Error is an answer of the API with an errcode other than 0.
type Error struct {
	Code int    `json:"errcode"`
	Msg  string `json:"errmsg"`
}

func (e *Error) Error() string { return fmt.Sprintf("wechat: errcode %d: %s", e.Code, e.Msg) }

// Codes of the API that civiq tells apart.
const (
	CodeBusy          = -1    // 系统繁忙: try again later
	CodeInvalidToken  = 40001 // the access token is not valid (refreshed elsewhere, or wrong secret)
	CodeInvalidOpenID = 40003 // no such follower
	CodeBadToken      = 40014 // not an access token
	CodeTokenExpired  = 42001
	CodeRateLimited   = 45009 // the day's calls are spent
	CodeNotFollowing  = 43004 // the openid does not follow the account
	CodeRefused       = 43101 // the user refused the subscription message
)

// TokenInvalid reports whether err says the access token must be fetched
// again.
func TokenInvalid(err error) bool {
	var e *Error
	return errors.As(err, &e) && (e.Code == CodeInvalidToken || e.Code == CodeBadToken || e.Code == CodeTokenExpired)
}

// Temporary reports whether err is worth trying again later: no answer,
// the API busy or over its limit, a 5xx.
func Temporary(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Code == CodeBusy || e.Code == CodeRateLimited || TokenInvalid(err)
	}
	var s *statusError
	if errors.As(err, &s) {
		return s.status >= 500 || s.status == http.StatusTooManyRequests
	}
	return err != nil
}

type statusError struct{ status int }

func (s *statusError) Error() string { return fmt.Sprintf("wechat: HTTP %d", s.status) }

// Client is one official account.
type Client struct {
	AppID, Secret string
	// BaseURL is the API's address (DefaultBaseURL when empty).
	BaseURL string
	HTTP    *http.Client
	Now     func() time.Time // time.Now when nil

	mu       sync.Mutex
	token    string
	expires  time.Time
	fetching *tokenCall // the fetch in flight, nil if none
}

type tokenCall struct {
	done  chan struct{}
	token string
	err   error
}

// maxAnswer bounds an answer read: the API's are short JSON.
const maxAnswer = 64 << 10

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Client) base() string {
	if c.BaseURL != "" {
		return strings.TrimRight(c.BaseURL, "/")
	}
	return DefaultBaseURL
}

// Token is the account's access token: the cached one while it has more
// than a minute left, else a new one from the stable-token endpoint
// (POST /cgi-bin/stable_token, not forced: every node of civiq, and any
// other system of the account that asks the same way, gets the same token
// and invalidates nobody's). Concurrent callers share one request.
func (c *Client) Token(ctx context.Context) (string, error) {
	c.mu.Lock()
	if c.token != "" && c.now().Before(c.expires) {
		t := c.token
		c.mu.Unlock()
		return t, nil
	}
	call := c.fetching
	if call == nil {
		call = &tokenCall{done: make(chan struct{})}
		c.fetching = call
		go c.fetch(call)
	}
	c.mu.Unlock()
	select {
	case <-call.done:
		return call.token, call.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// fetch asks for a token once (bounded by the HTTP client's timeout, not
// by one caller's context, as every waiting caller shares it).
func (c *Client) fetch(call *tokenCall) {
	var ans struct {
		Error
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	body := map[string]any{"grant_type": "client_credential", "appid": c.AppID, "secret": c.Secret}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := c.now()
	err := c.post(ctx, "/cgi-bin/stable_token", nil, body, &ans)
	if err == nil && ans.Code != 0 {
		err = &Error{Code: ans.Code, Msg: ans.Msg}
	}
	if err == nil && (ans.AccessToken == "" || ans.ExpiresIn <= 0) {
		err = errors.New("wechat: the token answer has no access_token or expires_in")
	}
	c.mu.Lock()
	if err == nil {
		life := time.Duration(ans.ExpiresIn) * time.Second
		c.token = ans.AccessToken
		c.expires = start.Add(life - min(time.Minute, life/2))
		call.token = ans.AccessToken
	}
	call.err = err
	c.fetching = nil
	c.mu.Unlock()
	close(call.done)
}

// forget drops the cached token if it is still tok (an answer said it is
// no longer valid), so the next Token asks anew.
func (c *Client) forget(tok string) {
	c.mu.Lock()
	if c.token == tok {
		c.token = ""
	}
	c.mu.Unlock()
}

// post posts body as JSON to path with the query q, and reads the answer
// into ans.
func (c *Client) post(ctx context.Context, path string, q url.Values, body, ans any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	u := c.base() + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	return c.do(req, ans)
}

func (c *Client) do(req *http.Request, ans any) error {
	res, err := c.HTTP.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which carries the token or the secret
		}
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(res.Body, maxAnswer))
		return &statusError{res.StatusCode}
	}
	return decodeAnswer(res.Body, ans)
}

// decodeAnswer reads an answer of the API (at most maxAnswer bytes of
// JSON) into ans.
func decodeAnswer(r io.Reader, ans any) error {
	if err := json.NewDecoder(io.LimitReader(r, maxAnswer)).Decode(ans); err != nil {
		return errors.New("wechat: the answer is not JSON")
	}
	return nil
}

// Field is one value of a message's data.
type Field struct {
	Value string `json:"value"`
}

// Message is a template message (模板消息) or a subscription message (订阅
// 通知) to one follower.
type Message struct {
	ToUser     string           // the follower's openid
	TemplateID string           // as the account registered it
	URL        string           // opened when the message is tapped
	Data       map[string]Field // the template's fields by key (keyword1, thing2, …)
	// ClientMsgID makes a template message once only: the same openid and
	// id within 10 minutes send one message (at most 64 bytes).
	ClientMsgID string
}

// SendTemplate sends a template message (POST
// /cgi-bin/message/template/send) and gives its msgid. An invalid token is
// fetched again once and the message sent again.
func (c *Client) SendTemplate(ctx context.Context, m *Message) (int64, error) {
	body := map[string]any{"touser": m.ToUser, "template_id": m.TemplateID, "data": m.Data}
	if m.URL != "" {
		body["url"] = m.URL
	}
	if m.ClientMsgID != "" {
		body["client_msg_id"] = m.ClientMsgID
	}
	return c.send(ctx, "/cgi-bin/message/template/send", body)
}

// SendSubscription sends a subscription message (订阅通知, POST
// /cgi-bin/message/subscribe/bizsend), which the follower agreed to
// receive; the same retry as SendTemplate.
func (c *Client) SendSubscription(ctx context.Context, m *Message) (int64, error) {
	body := map[string]any{"touser": m.ToUser, "template_id": m.TemplateID, "data": m.Data}
	if m.URL != "" {
		body["page"] = m.URL
	}
	return c.send(ctx, "/cgi-bin/message/subscribe/bizsend", body)
}

func (c *Client) send(ctx context.Context, path string, body any) (int64, error) {
	for try := 0; ; try++ {
		tok, err := c.Token(ctx)
		if err != nil {
			return 0, err
		}
		var ans struct {
			Error
			MsgID int64 `json:"msgid"`
		}
		err = c.post(ctx, path, url.Values{"access_token": {tok}}, body, &ans)
		if err == nil && ans.Code != 0 {
			err = &Error{Code: ans.Code, Msg: ans.Msg}
		}
		if TokenInvalid(err) {
			c.forget(tok)
			if try == 0 {
				continue
			}
		}
		return ans.MsgID, err
	}
}

// AuthorizeURL is the address of the web page login (snsapi_base: the
// visitor's openid, silently) that comes back to redirect with ?code=…&
// state=state; oauthBase is DefaultOAuthURL unless a test sets another.
func AuthorizeURL(oauthBase, appID, redirect, state string) string {
	if oauthBase == "" {
		oauthBase = DefaultOAuthURL
	}
	// WeChat wants its parameters in this order, and the fragment.
	return strings.TrimRight(oauthBase, "/") + "/connect/oauth2/authorize?appid=" + url.QueryEscape(appID) +
		"&redirect_uri=" + url.QueryEscape(redirect) + "&response_type=code&scope=snsapi_base&state=" +
		url.QueryEscape(state) + "#wechat_redirect"
}

// OpenID exchanges the code of a web page login for the visitor's openid
// (GET /sns/oauth2/access_token).
func (c *Client) OpenID(ctx context.Context, code string) (string, error) {
	q := url.Values{"appid": {c.AppID}, "secret": {c.Secret}, "code": {code}, "grant_type": {"authorization_code"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base()+"/sns/oauth2/access_token?"+q.Encode(), nil)
	if err != nil {
		return "", err
	}
	var ans struct {
		Error
		OpenID string `json:"openid"`
	}
	if err := c.do(req, &ans); err != nil {
		return "", err
	}
	if ans.Code != 0 {
		return "", &Error{Code: ans.Code, Msg: ans.Msg}
	}
	if !ValidOpenID(ans.OpenID) {
		return "", errors.New("wechat: the login's answer has no valid openid")
	}
	return ans.OpenID, nil
}

// ValidOpenID reports whether s can be an openid: 1 to 64 characters of
// letters, digits, - and _ (WeChat's are 28).
func ValidOpenID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
