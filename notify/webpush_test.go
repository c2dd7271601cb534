package notify

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/webpush"
	"github.com/civiq/civiq/webpush/pushtest"
)

func pushChannel(t *testing.T, svc *pushtest.Service) civiq.Channel {
	t.Helper()
	v, err := webpush.NewVAPID(make32(7), "mailto:ops@example.org")
	if err != nil {
		t.Fatal(err)
	}
	ch, err := NewWebPush(&webpush.Client{VAPID: v, HTTP: svc.Client()})(&civiq.ProviderSettings{Provider: "webpush"})
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func make32(b byte) []byte {
	k := make([]byte, 32)
	k[31] = b
	return k
}

// TestWebPushChannel: a message reaches the stand-in push service
// encrypted, decrypts to the payload the service worker reads, with the
// kind's TTL and urgency and one topic per ticket; a gone subscription
// fails for good, a busy push service is tried again.
func TestWebPushChannel(t *testing.T) {
	svc := pushtest.NewService()
	defer svc.Close()
	_, sub := svc.Subscribe("/sub/1")
	ch := pushChannel(t, svc)
	if ch.Provider() != "webpush" || ch.Medium() != civiq.MediumWebPush || ch.Rules().Templates {
		t.Fatal("provider, medium or rules")
	}
	send := func(kind string) civiq.ChannelResult {
		return ch.Send(context.Background(), &civiq.ChannelMessage{ID: "n1", HallID: "demo", Kind: kind, To: string(sub),
			Params: []civiq.NoticeParam{{Name: "number", Value: "A012"}, {Name: "counter", Value: "3号窗口"}},
			Text:   "请 A012 到 3号窗口 办理。", Lang: "zh"})
	}
	r := send(civiq.NoticeCalled)
	if r.Status != civiq.NoticeSent || r.Code != "201" || r.ProviderID == "" || r.Retry {
		t.Fatalf("%+v; %v", r, svc.Errors())
	}
	send(civiq.NoticeAhead)
	got := svc.Pushed()
	if len(got) != 2 {
		t.Fatalf("%d pushed; %v", len(got), svc.Errors())
	}
	var p PushPayload
	if err := json.Unmarshal(got[0].Plaintext, &p); err != nil {
		t.Fatal(err)
	}
	if p.Title != "A012" || p.Body != "请 A012 到 3号窗口 办理。" || p.Kind != "called" || p.Lang != "zh" || p.Tag == "" {
		t.Errorf("payload %+v", p)
	}
	if got[0].TTL != "600" || got[0].Urgency != "high" || got[1].Urgency != "normal" || got[0].Topic != got[1].Topic || got[0].Topic != p.Tag {
		t.Errorf("headers %+v %+v", got[0], got[1])
	}

	svc.Gone("/sub/1")
	if r := send(civiq.NoticeCalled); r.Status != civiq.NoticeFailed || r.Code != "410" || r.Retry || !r.Gone {
		t.Errorf("gone: %+v", r)
	}
	bad := ch.Send(context.Background(), &civiq.ChannelMessage{Kind: "called", To: `{"endpoint":"http://127.0.0.1/x"}`})
	if bad.Status != civiq.NoticeFailed || bad.Retry || !strings.Contains(bad.Error, "https") {
		t.Errorf("bad subscription: %+v", bad)
	}
	svc.Close()
	if r := send(civiq.NoticeCalled); r.Status != civiq.NoticeFailed || !r.Retry {
		t.Errorf("no push service: %+v", r)
	}
}
