package notify_test

import (
	"strings"
	"testing"
	"time"

	"github.com/civiq/civiq"
)

// TestCalledCounterGone: a ticket called at a counter
// and transferred, the counter then removed, before the notifications
// planner reads the call (it was busy sending an earlier message). The
// called message names the event's counter now, which is gone: the plan
// must not fail for it (and with it every later message of the hall).
func TestCalledCounterGone(t *testing.T) {
	for _, then := range []string{"transfer", "no-show"} {
		t.Run(then, func(t *testing.T) { counterGone(t, then) })
	}
}

func counterGone(t *testing.T, then string) {
	s := node(t, nil)
	release := make(chan struct{})
	blocked := make(chan struct{}, 1)
	s.NotifyLog.Answer = func(m *civiq.ChannelMessage) civiq.ChannelResult {
		if m.Kind == civiq.NoticeTaken {
			select {
			case blocked <- struct{}{}:
				<-release
			default:
			}
		}
		return civiq.ChannelResult{ProviderID: "log-" + m.ID, Status: civiq.NoticeDelivered, Code: "OK"}
	}
	tk := issue(t, s, "tax")
	if code := s.Call(t, "POST", "/api/v1/tickets/"+tk.ID+"/notify", "", map[string]string{"phone": "13800000001"}, nil); code != 201 {
		t.Fatalf("opt in: %d", code)
	}
	select {
	case <-blocked:
	case <-time.After(20 * time.Second):
		t.Fatal("the taken message never went")
	}
	callNext(t, s, "5")
	var body any
	if then == "transfer" {
		body = map[string]string{"service_id": "property"}
	}
	if code := s.Call(t, "POST", "/api/v1/tickets/"+tk.ID+"/"+then, s.Admin, body, nil); code != 200 {
		t.Fatalf("%s: %d", then, code)
	}
	if code := s.Call(t, "DELETE", "/api/v1/halls/demo/counters/5", s.Admin, nil, nil); code != 204 && code != 200 {
		t.Fatalf("delete counter 5: %d", code)
	}
	close(release)
	// A second ticket's message after it: the hall's messages go on.
	tk2 := issue(t, s, "tax")
	if code := s.Call(t, "POST", "/api/v1/tickets/"+tk2.ID+"/notify", "", map[string]string{"phone": "13800000002"}, nil); code != 201 {
		t.Fatalf("opt in 2: %d", code)
	}
	var got []string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		got = told(s)
		if len(got) >= 4 {
			break
		}
	}
	if len(got) < 4 {
		t.Fatalf("told: %v (want taken, called, transferred or no_show of %s and taken of %s)", got, tk.Number, tk2.Number)
	}
	t.Logf("told: %s", strings.Join(got, ", "))
}
