package api_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/api"
	"github.com/civiq/civiq/webpush/pushtest"
)

// TestOptInWebPushAndWeChat: a browser's subscription is checked before it
// is kept (400 naming webpush otherwise) and kept as endpoint and keys
// alone; a WeChat openid is checked too; the opt-in shows its medium, never
// the address.
func TestOptInWebPushAndWeChat(t *testing.T) {
	sealer, err := civiq.NewSealer(bytes.Repeat([]byte{0x5a}, civiq.SecretKeySize))
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, func(s *api.Server) { s.Engine.Sealer = sealer })
	ts.do(t, "PUT", "/api/v1/halls/demo/notifications", ts.Admin, map[string]any{
		"webpush": map[string]any{"provider": "webpush"},
		"wechat":  map[string]any{"provider": "wechat", "access_key_id": "wx0123456789abcdef", "access_key_secret": "s"},
	}).want(t, 200)
	path := "/api/v1/tickets/" + ts.issue(t, ts.Admin, "tax").ID + "/notify"
	sub := string(pushtest.NewBrowser().JSON("https://push.example.net/wpush/v2/gAAAA"))
	for _, bad := range []string{
		`{"endpoint":"https://push.example.net/x"}`,
		strings.Replace(sub, "https:", "http:", 1),
		`"https://push.example.net/x"`,
	} {
		ts.do(t, "POST", path, "", `{"webpush":`+bad+`}`).wantErr(t, 400, "invalid", "webpush")
	}
	r := ts.do(t, "POST", path, "", `{"webpush":`+sub+`,"lang":"en"}`).want(t, 201)
	if !strings.Contains(string(r.Body), `"medium":"webpush","to":"webpush"`) {
		t.Errorf("opt-in %s", r)
	}
	ts.do(t, "POST", path, "", map[string]any{"wechat": map[string]string{"openid": "a b"}}).wantErr(t, 400, "invalid", "wechat.openid")
	ts.do(t, "POST", path, "", map[string]any{"wechat": map[string]string{"openid": "oLVPpjqs9BhvzwPj5A-vTYAX3GLc"}}).want(t, 201)
	ts.do(t, "DELETE", path+"?medium=webpush", "", nil).want(t, 204)
}
