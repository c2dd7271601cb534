package wechat

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civiq/civiq/wechat/wechattest"
)

func newFake(t *testing.T) (*wechattest.Server, *Client) {
	f := wechattest.New()
	t.Cleanup(f.Close)
	return f, &Client{AppID: wechattest.AppID, Secret: wechattest.Secret, BaseURL: f.URL, HTTP: f.Client()}
}

func msg() *Message {
	return &Message{ToUser: wechattest.OpenID, TemplateID: "tpl-called", URL: "https://hall.example.org/t/abc",
		Data: map[string]Field{"keyword1": {"A012"}, "keyword2": {"3号窗口"}}, ClientMsgID: "n-42"}
}

// TestTokenCached: one token serves every message until a minute before it
// expires; then one new token is fetched.
func TestTokenCached(t *testing.T) {
	f, c := newFake(t)
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	c.Now = func() time.Time { return now }
	for i := 0; i < 5; i++ {
		if id, err := c.SendTemplate(context.Background(), msg()); err != nil || id == 0 {
			t.Fatal(id, err)
		}
	}
	if f.Tokens() != 1 {
		t.Errorf("%d tokens for 5 messages", f.Tokens())
	}
	now = now.Add(7200*time.Second - time.Minute - time.Second)
	c.SendTemplate(context.Background(), msg())
	if f.Tokens() != 1 {
		t.Errorf("a token with a minute left was fetched again (%d)", f.Tokens())
	}
	now = now.Add(2 * time.Second)
	c.SendTemplate(context.Background(), msg())
	if f.Tokens() != 2 {
		t.Errorf("an expiring token was not refreshed (%d)", f.Tokens())
	}
	s := f.Sent()[0]
	m := s.Body
	if s.Path != "/cgi-bin/message/template/send" || m["touser"] != wechattest.OpenID || m["template_id"] != "tpl-called" || m["url"] != "https://hall.example.org/t/abc" || m["client_msg_id"] != "n-42" {
		t.Errorf("sent %v", s)
	}
	if d := m["data"].(map[string]any)["keyword2"].(map[string]any)["value"]; d != "3号窗口" {
		t.Errorf("data %v", m["data"])
	}
}

// TestTokenOneInFlight: many senders at once with no token share one
// request for it; a caller that gives up does not stop it for the others.
func TestTokenOneInFlight(t *testing.T) {
	f, c := newFake(t)
	f.Delay = 100 * time.Millisecond
	var wg sync.WaitGroup
	var failed atomic.Int32
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.SendTemplate(context.Background(), msg()); err != nil {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	if f.Tokens() != 1 || failed.Load() != 0 || len(f.Sent()) != 20 {
		t.Errorf("%d tokens, %d failed, %d sent", f.Tokens(), failed.Load(), len(f.Sent()))
	}
	c.forget(f.Current())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := c.Token(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a caller out of time: %v", err)
	}
	if tok, err := c.Token(context.Background()); err != nil || tok != f.Current() || f.Tokens() != 2 {
		t.Errorf("the fetch after: %q, %v, %d tokens", tok, err, f.Tokens())
	}
}

// TestInvalidTokenRefreshedOnce: a token revoked elsewhere (40001) is
// fetched again and the message sent again, once; a second 40001 fails,
// worth a later try.
func TestInvalidTokenRefreshedOnce(t *testing.T) {
	f, c := newFake(t)
	c.SendTemplate(context.Background(), msg())
	f.Revoke()
	if _, err := c.SendTemplate(context.Background(), msg()); err != nil {
		t.Fatalf("after a revoked token: %v", err)
	}
	if f.Tokens() != 2 || len(f.Sent()) != 2 {
		t.Errorf("%d tokens, %d sent", f.Tokens(), len(f.Sent()))
	}
	f.Answer(func(int) (int, string) { return CodeInvalidToken, "invalid credential" })
	before := f.Tokens()
	_, err := c.SendTemplate(context.Background(), msg())
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeInvalidToken || !Temporary(err) {
		t.Errorf("%v", err)
	}
	if f.Tokens() != before+1 {
		t.Errorf("%d tokens fetched for one message; want one refresh", f.Tokens()-before)
	}
}

func TestErrors(t *testing.T) {
	f, c := newFake(t)
	for code, temporary := range map[int]bool{CodeBusy: true, CodeRateLimited: true, CodeNotFollowing: false, CodeInvalidOpenID: false, CodeRefused: false, 47003: false} {
		f.Answer(func(int) (int, string) { return code, "refused" })
		_, err := c.SendSubscription(context.Background(), msg())
		var e *Error
		if !errors.As(err, &e) || e.Code != code || Temporary(err) != temporary {
			t.Errorf("errcode %d: %v, temporary %v", code, err, Temporary(err))
		}
	}
	f.Answer(nil)
	c.SendSubscription(context.Background(), msg())
	if s := f.Sent(); len(s) != 1 || s[0].Path != "/cgi-bin/message/subscribe/bizsend" || s[0].Body["page"] != "https://hall.example.org/t/abc" {
		t.Errorf("subscription message %v", s)
	}
	bad := &Client{AppID: wechattest.AppID, Secret: "wrong", BaseURL: f.URL, HTTP: f.Client()}
	_, err := bad.SendTemplate(context.Background(), msg())
	if err == nil || strings.Contains(err.Error(), "wrong") || Temporary(err) {
		t.Errorf("a wrong secret: %v", err)
	}
	down := &Client{AppID: wechattest.AppID, Secret: wechattest.Secret, BaseURL: "http://127.0.0.1:1", HTTP: http.DefaultClient}
	_, err = down.SendTemplate(context.Background(), msg())
	if err == nil || !Temporary(err) || strings.Contains(err.Error(), wechattest.Secret) {
		t.Errorf("no answer: %v", err)
	}
	five := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(502) }))
	defer five.Close()
	c5 := &Client{AppID: wechattest.AppID, Secret: wechattest.Secret, BaseURL: five.URL, HTTP: five.Client()}
	if _, err := c5.Token(context.Background()); err == nil || !Temporary(err) {
		t.Errorf("502: %v", err)
	}
}

func TestOpenID(t *testing.T) {
	_, c := newFake(t)
	id, err := c.OpenID(context.Background(), wechattest.Code)
	if err != nil || id != wechattest.OpenID {
		t.Fatal(id, err)
	}
	if _, err := c.OpenID(context.Background(), "used"); err == nil {
		t.Error("a bad code gave an openid")
	}
	u := AuthorizeURL("", "wx0123456789abcdef", "https://hall.example.org/t/abc/wechat?x=1", "s t")
	want := "https://open.weixin.qq.com/connect/oauth2/authorize?appid=wx0123456789abcdef&redirect_uri=https%3A%2F%2Fhall.example.org%2Ft%2Fabc%2Fwechat%3Fx%3D1&response_type=code&scope=snsapi_base&state=s+t#wechat_redirect"
	if u != want {
		t.Errorf("authorize URL\n%s\nwant\n%s", u, want)
	}
	for s, ok := range map[string]bool{wechattest.OpenID: true, "": false, "a b": false, strings.Repeat("a", 65): false, "<x>": false} {
		if ValidOpenID(s) != ok {
			t.Errorf("ValidOpenID(%q)", s)
		}
	}
}

// FuzzAnswer: whatever the API answers, reading it never panics.
func FuzzAnswer(f *testing.F) {
	f.Add([]byte(`{"access_token":"x","expires_in":7200}`))
	f.Add([]byte(`{"errcode":40001,"errmsg":"invalid credential"}`))
	f.Add([]byte(`{"errcode":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var ans struct {
			Error
			AccessToken string `json:"access_token"`
			ExpiresIn   int    `json:"expires_in"`
			MsgID       int64  `json:"msgid"`
			OpenID      string `json:"openid"`
		}
		decodeAnswer(strings.NewReader(string(b)), &ans)
	})
}
