package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/civiqtest"
)

// TestCityLeadCount: the city page's lead counts the halls in words that
// read right in English for one hall and for more.
func TestCityLeadCount(t *testing.T) {
	s := civiqtest.New(t)
	lead := func(lang string) string {
		t.Helper()
		_, body := s.Page(t, "/city?lang="+lang, s.Admin)
		i := strings.Index(body, `id="cy-lead">`)
		if i < 0 {
			t.Fatalf("no lead on the city page (%s)", lang)
		}
		rest := body[i+len(`id="cy-lead">`):]
		return rest[:strings.Index(rest, "<")]
	}
	if got := lead("en"); got != "1 hall" {
		t.Errorf("English, one hall: %q; want %q", got, "1 hall")
	}
	if got := lead("zh-CN"); got != "全部 1 个大厅" {
		t.Errorf("Chinese, one hall: %q", got)
	}
	if err := s.Engine.SaveHall(context.Background(), &civiq.Hall{ID: "other", Name: "其他", Timezone: "Asia/Shanghai", Policy: civiq.PolicyFIFO, MaxCalls: 3}); err != nil {
		t.Fatal(err)
	}
	if got := lead("en"); got != "All 2 halls" {
		t.Errorf("English, two halls: %q; want %q", got, "All 2 halls")
	}
}
