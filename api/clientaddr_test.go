package api

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

// A request's client: its peer, or behind a trusted proxy the nearest
// address X-Forwarded-For names that is not a trusted proxy; what a
// client wrote before the proxies' entries is not taken.
func TestClientAddr(t *testing.T) {
	s := &Server{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24"), netip.MustParsePrefix("fd00::/64")}}
	for _, tc := range []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"no proxy", "198.51.100.9:4000", nil, "198.51.100.9"},
		{"an untrusted peer's header is not read", "198.51.100.9:4000", []string{"203.0.113.7"}, "198.51.100.9"},
		{"a proxy without a header", "10.0.0.5:4000", nil, "10.0.0.5"},
		{"behind one proxy", "10.0.0.5:4000", []string{"203.0.113.7"}, "203.0.113.7"},
		{"a client's own entry before the proxy's", "10.0.0.5:4000", []string{"1.2.3.4, 203.0.113.7"}, "203.0.113.7"},
		{"two proxies", "10.0.0.5:4000", []string{"203.0.113.7, 10.0.0.6"}, "203.0.113.7"},
		{"two header lines", "10.0.0.5:4000", []string{"203.0.113.7", "10.0.0.6"}, "203.0.113.7"},
		{"a port in an entry", "10.0.0.5:4000", []string{"203.0.113.7:51000"}, "203.0.113.7"},
		{"IPv6 behind a proxy of IPv6", "[fd00::2]:4000", []string{"2001:db8::1"}, "2001:db8::1"},
		{"IPv6 with a port", "10.0.0.5:4000", []string{"[2001:db8::1]:443"}, "2001:db8::1"},
		{"IPv4 in IPv6", "[::ffff:10.0.0.5]:4000", []string{"::ffff:203.0.113.7"}, "203.0.113.7"},
		{"garbage before the client", "10.0.0.5:4000", []string{"nonsense, 203.0.113.7"}, "203.0.113.7"},
		{"garbage where a proxy's entry should be", "10.0.0.5:4000", []string{"203.0.113.7, nonsense"}, "10.0.0.5"},
		{"garbage behind a second proxy", "10.0.0.5:4000", []string{"203.0.113.7, nonsense, 10.0.0.6"}, "10.0.0.6"},
		{"empty entries", "10.0.0.5:4000", []string{" , 203.0.113.7 ,"}, "203.0.113.7"},
		{"only proxies", "10.0.0.5:4000", []string{"10.0.0.7, 10.0.0.6"}, "10.0.0.7"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.peer
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := s.clientAddr(r); got != netip.MustParseAddr(tc.want) {
			t.Errorf("%s: %v, want %s", tc.name, got, tc.want)
		}
	}
}

func FuzzClientAddr(f *testing.F) {
	s := &Server{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	f.Add("203.0.113.7, 10.0.0.6")
	f.Add("[2001:db8::1]:443,,nonsense")
	f.Fuzz(func(t *testing.T, xff string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "10.0.0.5:4000"
		r.Header.Set("X-Forwarded-For", xff)
		if a := s.clientAddr(r); !a.IsValid() {
			t.Fatalf("%q: no address", xff)
		}
	})
}
