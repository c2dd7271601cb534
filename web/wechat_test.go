package web_test

import (
	"bytes"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/civiqtest"
	"github.com/civiq/civiq/wechat/wechattest"
)

// TestWeChatLogin: on a hall that sends WeChat messages, the ticket's page
// sends its visitor to the Official Account's web page login, which comes
// back with a code: civiq exchanges it for the openid, opts the ticket in,
// and the "called" message goes to that openid as the hall's template. A
// login's answer without the browser's state cookie is refused.
func TestWeChatLogin(t *testing.T) {
	wx := wechattest.New()
	defer wx.Close()
	sealer, err := civiq.NewSealer(bytes.Repeat([]byte{0x5a}, civiq.SecretKeySize))
	if err != nil {
		t.Fatal(err)
	}
	s := civiqtest.New(t, func(s *civiqtest.Server) { s.Engine.Sealer = sealer })
	s.SetNotifyAllow([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}) // the stand-in's address
	if st := s.Call(t, "PUT", "/api/v1/halls/demo/notifications", s.Admin, map[string]any{"wechat": map[string]any{
		"provider": "wechat", "endpoint": wx.URL, "access_key_id": wechattest.AppID, "access_key_secret": wechattest.Secret,
		"templates": map[string]string{"called": "tpl-called"},
		"extra":     map[string]string{"oauth_endpoint": wx.URL, "called.counter": "keyword2"}}}, nil); st != 200 {
		t.Fatalf("set WeChat: %d", st)
	}
	var issued struct{ Ticket struct{ ID, Number string } }
	if st := s.Call(t, "POST", "/api/v1/halls/demo/tickets", s.Admin, map[string]string{"service_id": "general"}, &issued); st != 201 {
		t.Fatalf("issue: %d", st)
	}
	id := issued.Ticket.ID
	page := getNoRedirect(t, s.URL+"/t/"+id, nil)
	if !strings.Contains(page.body, `"wechat":"/t/`+id+`/wechat"`) {
		t.Fatalf("the page does not offer the login: %.300s", page.body)
	}

	login := getNoRedirect(t, s.URL+"/t/"+id+"/wechat", nil)
	loc, _ := url.Parse(login.res.Header.Get("Location"))
	q := loc.Query()
	if login.res.StatusCode != http.StatusFound || !strings.HasPrefix(loc.String(), wx.URL+"/connect/oauth2/authorize?appid="+wechattest.AppID+"&") ||
		q.Get("scope") != "snsapi_base" || q.Get("redirect_uri") != s.URL+"/t/"+id+"/wechat/back" || loc.Fragment != "wechat_redirect" {
		t.Fatalf("login: %d %s", login.res.StatusCode, loc)
	}
	cookies := login.res.Cookies()
	back := s.URL + "/t/" + id + "/wechat/back?code=" + wechattest.Code + "&state=" + url.QueryEscape(q.Get("state"))
	if r := getNoRedirect(t, back, nil); r.res.StatusCode != http.StatusBadRequest {
		t.Errorf("without the state cookie: %d", r.res.StatusCode)
	}
	if r := getNoRedirect(t, strings.Replace(back, "state=", "state=x", 1), cookies); r.res.StatusCode != http.StatusBadRequest {
		t.Errorf("another state: %d", r.res.StatusCode)
	}
	if r := getNoRedirect(t, strings.Replace(back, wechattest.Code, "used-code", 1), cookies); r.res.StatusCode != http.StatusBadRequest {
		t.Errorf("a bad code: %d", r.res.StatusCode)
	}
	r := getNoRedirect(t, back, cookies)
	if r.res.StatusCode != http.StatusSeeOther || r.res.Header.Get("Location") != "/t/"+id {
		t.Fatalf("back: %d %s %.200s", r.res.StatusCode, r.res.Header.Get("Location"), r.body)
	}

	if st := s.Call(t, "POST", "/api/v1/halls/demo/counters/1/call-next", s.Admin, nil, nil); st != 200 {
		t.Fatalf("call: %d", st)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(wx.Sent()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	sent := wx.Sent()
	if len(sent) != 1 {
		t.Fatalf("%d messages sent", len(sent))
	}
	m := sent[0].Body
	data, _ := m["data"].(map[string]any)
	if m["touser"] != wechattest.OpenID || m["template_id"] != "tpl-called" || data["number"].(map[string]any)["value"] != issued.Ticket.Number ||
		data["keyword2"].(map[string]any)["value"] == "" {
		t.Errorf("sent %v", m)
	}
}

type answer struct {
	res  *http.Response
	body string
}

// getNoRedirect asks url with cookies, following no redirect.
func getNoRedirect(t *testing.T, u string, cookies []*http.Cookie) answer {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(res.Body)
	return answer{res, b.String()}
}
