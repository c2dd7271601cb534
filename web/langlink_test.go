package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/civiq/civiq/civiqtest"
)

// TestLanguageLinkLang: every page's link to the other language is marked
// in that language (lang), so a screen reader says 中文 in Chinese on an
// English page, not as letters: the pages of the common layout and the
// rater lacked it, the citizens' pages had it.
func TestLanguageLinkLang(t *testing.T) {
	s := civiqtest.New(t)
	for _, c := range []struct{ path, want string }{
		{"/login?lang=en", `hreflang="zh-CN" lang="zh-CN">中文</a>`},
		{"/login?lang=zh-CN", `hreflang="en" lang="en">English</a>`},
		{"/halls/demo/rate/1?lang=en", `hreflang="zh-CN" lang="zh-CN">中文</a>`},
	} {
		res, body := s.Page(t, c.path, "")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", c.path, res.StatusCode)
		}
		if !strings.Contains(body, c.want) {
			i := strings.Index(body, "hreflang")
			t.Errorf("%s: the language link is not marked in its language: %.120s", c.path, body[max(i, 0):])
		}
	}
}

// TestLanguageLinkKeepsQuery: the link to the other language keeps the
// page's query (a display split over screens, a month of results): it
// dropped it, and a hall's second screen showed every counter in English.
func TestLanguageLinkKeepsQuery(t *testing.T) {
	s := civiqtest.New(t)
	for _, c := range []struct{ path, want string }{
		{"/halls/demo/display?counters=1-3", `href="?counters=1-3&amp;lang=en"`},
		{"/halls/demo/display?counters=1-3&lang=en", `href="?counters=1-3&amp;lang=zh-CN"`},
		{"/login?lang=en", `href="?lang=zh-CN"`},
	} {
		res, body := s.Page(t, c.path, "")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", c.path, res.StatusCode)
		}
		if !strings.Contains(body, c.want) {
			i := strings.Index(body, "hreflang")
			t.Errorf("%s: the language link drops the query: %.160s", c.path, body[max(i-80, 0):])
		}
	}
}
