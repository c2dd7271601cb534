package notify_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/civiqtest"
	"github.com/civiq/civiq/outbound"
	"github.com/civiq/civiq/webpush/pushtest"
)

// TestWebPushGoneRemovesOptIn: a hall's Web Push messages go to the
// browser's push service; once it answers 410 (the browser unsubscribed)
// the message fails with that code and the ticket's opt-in is removed, so
// nothing more is tried for it.
func TestWebPushGoneRemovesOptIn(t *testing.T) {
	svc := pushtest.NewService()
	defer svc.Close()
	s := node(t, map[string]any{"webpush": map[string]any{"provider": "webpush"}})
	s.SetPushAllow([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}) // the stand-in's address
	pool := x509.NewCertPool()
	pool.AddCert(svc.Certificate())
	s.Push.HTTP.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: pool}

	tk := issue(t, s, "general")
	_, sub := svc.Subscribe("/sub/gone")
	if code := s.Call(t, "POST", "/api/v1/tickets/"+tk.ID+"/notify", "", map[string]any{"webpush": jsonRaw(sub)}, nil); code != 201 {
		t.Fatalf("opt in: %d", code)
	}
	// Taken, and next: nobody waits before it.
	if p := svc.Wait(2, 20*time.Second); len(p) != 2 || !strings.Contains(string(p[0].Plaintext), `"kind":"taken"`) {
		t.Fatalf("pushed %v; refused %v", p, svc.Errors())
	}
	svc.Gone("/sub/gone")
	callNext(t, s, "1")
	var msgs struct {
		Messages []struct{ Kind, Status, Code string }
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		s.Call(t, "GET", "/api/v1/halls/demo/notifications/messages", s.Admin, nil, &msgs)
		if n := len(msgs.Messages); n > 0 && msgs.Messages[n-1].Kind == "called" && msgs.Messages[n-1].Status == "failed" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	last := msgs.Messages[len(msgs.Messages)-1]
	if last.Kind != "called" || last.Status != "failed" || last.Code != "410" {
		t.Fatalf("messages %+v", msgs.Messages)
	}
	if code := s.Call(t, "DELETE", "/api/v1/tickets/"+tk.ID+"/notify?medium=webpush", "", nil, nil); code != 404 {
		t.Errorf("the opt-in is still there: DELETE answered %d", code)
	}
}

// jsonRaw sends b as it is, inside a JSON body.
type jsonRaw []byte

func (j jsonRaw) MarshalJSON() ([]byte, error) { return j, nil }

// TestAllowListsApart: the notifications' providers (--notify-allow) and
// the browsers' push services (--push-allow) each reach loopback,
// link-local and private addresses only by a list of their own: letting
// webhooks reach an intranet (--webhook-allow) lets neither reach it, nor
// the providers' list an anonymous citizen's push subscription.
func TestAllowListsApart(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	defer srv.Close()
	s := civiqtest.New(t)
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	reach := func(c *http.Client) error {
		res, err := c.Get(srv.URL)
		if err == nil {
			res.Body.Close()
		}
		return err
	}
	refused := func(err error, flag string) bool {
		var re *outbound.RefusedError
		return errors.As(err, &re) && re.Flag == flag
	}
	s.SetWebhookAllow(loopback)
	if err := reach(s.Providers); !refused(err, civiq.FlagNotifyAllow) {
		t.Errorf("a provider on loopback with --webhook-allow alone: %v", err)
	}
	if err := reach(s.Push.HTTP); !refused(err, civiq.FlagPushAllow) {
		t.Errorf("a push service on loopback with --webhook-allow alone: %v", err)
	}
	s.SetNotifyAllow(loopback)
	if err := reach(s.Providers); err != nil {
		t.Errorf("a provider on loopback with --notify-allow: %v", err)
	}
	if err := reach(s.Push.HTTP); !refused(err, civiq.FlagPushAllow) {
		t.Errorf("a push service on loopback with --notify-allow: %v", err)
	}
}
