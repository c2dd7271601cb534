package notify

import (
	"context"
	"strings"
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/wechat/wechattest"
)

// TestWeChatChannel: a hall's message goes as a template message with the
// template of its kind, its parameters under the template's keys (renamed
// by the settings' extra), the ticket's page as its link and its id as
// client_msg_id; a revoked token is refreshed once; busy is tried again,
// not following is final; halls of one account share one token.
func TestWeChatChannel(t *testing.T) {
	f := wechattest.New()
	defer f.Close()
	wm := &WeChatMaker{HTTP: f.Client()}
	p := &civiq.ProviderSettings{Provider: "wechat", Endpoint: f.URL, KeyID: wechattest.AppID, Secret: wechattest.Secret,
		Templates: map[string]string{"called": "tpl-called"}, Extra: map[string]string{"called.counter": "keyword2", "number": "keyword1"}}
	ch, err := wm.Make(p)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Provider() != "wechat" || ch.Medium() != civiq.MediumWeChat || !ch.Rules().Templates || ch.Rules().MaxParamLen != 20 {
		t.Fatal("provider, medium or rules")
	}
	m := &civiq.ChannelMessage{ID: "msg-1", HallID: "demo", Kind: "called", To: wechattest.OpenID, Template: "tpl-called",
		Params: []civiq.NoticeParam{{Name: "number", Value: "A012"}, {Name: "counter", Value: "3号窗口"}, {Name: "link", Value: "https://h/t/x"}},
		Link:   "https://h/t/x", Text: "请 A012 到 3号窗口 办理。"}
	r := ch.Send(context.Background(), m)
	if r.Status != civiq.NoticeSent || r.Code != "0" || r.ProviderID == "" {
		t.Fatalf("%+v", r)
	}
	body := f.Sent()[0].Body
	data := body["data"].(map[string]any)
	if body["template_id"] != "tpl-called" || body["client_msg_id"] != "msg-1" || body["url"] != "https://h/t/x" || body["touser"] != wechattest.OpenID ||
		data["keyword1"].(map[string]any)["value"] != "A012" || data["keyword2"].(map[string]any)["value"] != "3号窗口" || data["link"] != nil || len(data) != 2 {
		t.Errorf("sent %v", body)
	}

	f.Revoke()
	if r := ch.Send(context.Background(), m); r.Status != civiq.NoticeSent {
		t.Errorf("after a revoked token: %+v", r)
	}
	f.Answer(func(int) (int, string) { return -1, "system error" })
	if r := ch.Send(context.Background(), m); r.Status != civiq.NoticeFailed || !r.Retry || r.Code != "-1" {
		t.Errorf("busy: %+v", r)
	}
	f.Answer(func(int) (int, string) { return 43004, "require subscribe hint" })
	if r := ch.Send(context.Background(), m); r.Status != civiq.NoticeFailed || r.Retry || r.Code != "43004" || !strings.Contains(r.Error, "subscribe") {
		t.Errorf("not following: %+v", r)
	}
	f.Answer(nil)
	if r := ch.Send(context.Background(), &civiq.ChannelMessage{Kind: "called", To: "../x", Template: "t"}); r.Status != civiq.NoticeFailed || r.Retry {
		t.Errorf("bad openid: %+v", r)
	}

	// Another hall of the same account: the same token.
	tokens := f.Tokens()
	other, _ := wm.Make(&civiq.ProviderSettings{Provider: "wechat", Endpoint: f.URL, KeyID: wechattest.AppID, Secret: wechattest.Secret,
		Extra: map[string]string{"message": "subscribe"}})
	if r := other.Send(context.Background(), m); r.Status != civiq.NoticeSent || f.Tokens() != tokens {
		t.Errorf("another hall: %+v, %d tokens after %d", r, f.Tokens(), tokens)
	}
	if s := f.Sent(); s[len(s)-1].Path != "/cgi-bin/message/subscribe/bizsend" {
		t.Errorf("subscribe mode sent to %s", s[len(s)-1].Path)
	}
	wc := ch.(*WeChat)
	if u := wc.LoginURL("https://h/t/x/wechat/back", "st"); !strings.HasPrefix(u, "https://open.weixin.qq.com/connect/oauth2/authorize?appid="+wechattest.AppID+"&") {
		t.Errorf("login URL %s", u)
	}
	if id, err := wc.LoginOpenID(context.Background(), wechattest.Code); err != nil || id != wechattest.OpenID {
		t.Errorf("login: %q, %v", id, err)
	}
	for _, bad := range []*civiq.ProviderSettings{{Provider: "wechat", KeyID: wechattest.AppID}, {Provider: "wechat", KeyID: "a", Secret: "b", Extra: map[string]string{"message": "mass"}}} {
		if _, err := wm.Make(bad); err == nil {
			t.Errorf("%+v made a channel", bad)
		}
	}
}
