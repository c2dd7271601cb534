package web_test

import (
	"strings"
	"testing"

	"github.com/civiq/civiq/civiqtest"
)

// The home page names the counters as the screens do: the demo's 1号窗口
// on a Chinese page, Counter 1 on an English one.
func TestHomeCounterNames(t *testing.T) {
	ds := civiqtest.New(t)
	if _, body := ds.Page(t, "/", ""); !strings.Contains(body, `href="/halls/demo/counter/1">1号窗口</a>`) {
		t.Error("the Chinese home page lacks 1号窗口")
	}
	_, body := ds.Page(t, "/?lang=en", "")
	for _, role := range []string{"window", "counter", "rate"} {
		if !strings.Contains(body, `href="/halls/demo/`+role+`/1">Counter 1</a>`) {
			t.Errorf("the English home page lacks Counter 1 for the %s", role)
		}
	}
	if strings.Contains(body, "号窗口") {
		t.Error("the English home page names a counter in Chinese")
	}
}
