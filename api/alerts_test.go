package api_test

import (
	"context"
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/civiq/civiq/civiqtest"
	"github.com/civiq/civiq/outbound/webhooktest"
)

// A service's alert reaches a webhook through the outbound delivery: one
// message when raised, one when cleared, with the alert in the staff view,
// however many tickets came meanwhile.
func TestServiceAlertWebhook(t *testing.T) {
	s := civiqtest.New(t, func(s *civiqtest.Server) {
		s.App.SetWebhookAllow([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")})
		s.App.Outbound.Poll = 100 * time.Millisecond
	})
	rc := webhooktest.New(t)
	var hook struct {
		Webhook struct {
			Secret string `json:"secret"`
		} `json:"webhook"`
	}
	if code := s.Call(t, "POST", "/api/v1/webhooks", s.Admin, map[string]any{"url": rc.URL + "/hook", "events": []string{"service.alert"}}, &hook); code != 201 {
		t.Fatalf("create webhook: %d", code)
	}
	rc.AddSecret(hook.Webhook.Secret)
	tax := map[string]any{"prefix": "C", "name": "税务", "name_en": "Tax", "position": 2}
	put := func(alert int) {
		tax["alert_wait_minutes"] = alert
		if code := s.Call(t, "PUT", "/api/v1/halls/demo/services/tax", s.Admin, tax, nil); code != 200 {
			t.Fatalf("PUT service: %d", code)
		}
	}
	put(1)
	for range 12 {
		if code := s.Call(t, "POST", "/api/v1/halls/demo/tickets", s.Admin, map[string]string{"service_id": "tax"}, nil); code != 201 {
			t.Fatalf("issue: %d", code)
		}
	}
	sweep := func(want int) { // as the server's tick does
		t.Helper()
		if n, err := s.Engine.CheckServiceAlerts(context.Background(), "demo"); err != nil || n != want {
			t.Fatalf("sweep: %d changes, %v; want %d", n, err, want)
		}
	}
	sweep(1)
	sweep(0)
	put(0)
	sweep(1)
	for end := time.Now().Add(20 * time.Second); rc.Len() < 2 && time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
	}
	time.Sleep(300 * time.Millisecond) // nothing more comes
	msgs := rc.Messages()
	var states []string
	for _, m := range msgs {
		var body struct {
			Type string `json:"type"`
			Data struct {
				Alert struct {
					ServiceID         string `json:"service_id"`
					State             string `json:"state"`
					SuggestedCounters int    `json:"suggested_counters"`
				} `json:"alert"`
			} `json:"data"`
		}
		if err := json.Unmarshal(m.Body, &body); err != nil || body.Type != "service.alert" || body.Data.Alert.ServiceID != "tax" {
			t.Fatalf("message %s: %v", m.Body, err)
		}
		states = append(states, body.Data.Alert.State)
	}
	if len(states) != 2 || states[0] != "raised" || states[1] != "cleared" {
		t.Fatalf("alert messages %v, want raised then cleared", states)
	}
}
