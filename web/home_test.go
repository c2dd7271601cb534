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

// Every page names its icon, so that no browser asks for /favicon.ico
// (a 404 on every first visit).
func TestFavicon(t *testing.T) {
	ds := civiqtest.New(t)
	for _, path := range []string{"/", "/halls/demo/kiosk", "/halls/demo/display", "/login"} {
		if _, body := ds.Page(t, path, ""); !strings.Contains(body, `<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">`) {
			t.Errorf("%s names no icon", path)
		}
	}
	res, body := ds.Page(t, "/static/favicon.svg", "")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(body, "<svg") {
		t.Errorf("the icon: %d %s %.40s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
}

// A city's home page lists every hall with all its pages, many screens
// long with a few dozen halls: the city overview, where a city's halls
// are found and compared, is linked above them, not below the last.
func TestHomeCityLinkFirst(t *testing.T) {
	ds := civiqtest.New(t)
	_, body := ds.Page(t, "/", "")
	city, hall := strings.Index(body, `href="/city"`), strings.Index(body, `<article class="card hall"`)
	if city < 0 || hall < 0 || city > hall {
		t.Errorf("the city overview's link at %d, the first hall at %d: want the link first", city, hall)
	}
}
