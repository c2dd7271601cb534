package notify_test

import (
	"testing"

	"github.com/civiq/civiq"
)

// TestCalledCounterInOptInLanguage: the called message names the counter
// in the opt-in's language, as the ticket's page does: an English opt-in
// is told "please go to Counter 5", not "please go to 5号窗口" (the demo's
// counters have Chinese names), and a Chinese one 5号窗口, as the
// transferred message names the service in the opt-in's language.
func TestCalledCounterInOptInLanguage(t *testing.T) {
	s := node(t, nil)
	en, zh := issue(t, s, "tax"), issue(t, s, "tax") // counter 5 serves tax alone
	for _, o := range []struct {
		tk          civiq.Ticket
		phone, lang string
	}{{en, "13800000011", "en"}, {zh, "13800000012", "zh"}} {
		if code := s.Call(t, "POST", "/api/v1/tickets/"+o.tk.ID+"/notify", "", map[string]string{"phone": o.phone, "lang": o.lang}, nil); code != 201 {
			t.Fatalf("opt in %s: %d", o.lang, code)
		}
	}
	callNext(t, s, "5")
	callNext(t, s, "5")
	// taken, ahead or next, called: each ticket's.
	await(t, s, 6)
	for _, c := range []struct {
		tk            civiq.Ticket
		counter, text string
	}{
		{en, "Counter 5", en.Number + ", please go to Counter 5."},
		{zh, "5号窗口", "请 " + zh.Number + " 到 5号窗口 办理。"},
	} {
		m := sentOf(t, s, c.tk.Number, civiq.NoticeCalled)
		if len(m.Params) != 2 || m.Params[1].Value != c.counter {
			t.Errorf("%s: called with %v, want counter %q", c.tk.Number, m.Params, c.counter)
		}
		if m.Text != c.text {
			t.Errorf("%s: called says %q, want %q", c.tk.Number, m.Text, c.text)
		}
	}
}
