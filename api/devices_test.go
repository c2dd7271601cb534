package api_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/api"
)

// Pairing codes are guessed no faster than passwords: 20 wrong codes from
// one address in 15 minutes and it is refused (429), even the right code;
// another address pairs.
func TestPairingCodeGuessesLimited(t *testing.T) {
	ts := newTestServer(t, func(s *api.Server) { s.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} })
	var dev struct {
		Device struct {
			PairingCode string `json:"pairing_code"`
		} `json:"device"`
	}
	ts.do(t, "POST", "/api/v1/halls/demo/devices", ts.Admin, map[string]string{"kind": "display", "name": "大屏"}).want(t, http.StatusCreated).json(t, &dev)
	pair := func(code, client string) *resp {
		return ts.do(t, "POST", "/api/v1/devices/pair", "", map[string]string{"code": code}, header{"X-Forwarded-For", client})
	}
	for i := range 20 {
		pair(fmt.Sprintf("wrong%03d", i), "203.0.113.7").wantErr(t, http.StatusUnauthorized, civiq.EUnauthorized, "")
	}
	pair(dev.Device.PairingCode, "203.0.113.7").wantErr(t, http.StatusTooManyRequests, civiq.ERateLimited, "")
	pair(dev.Device.PairingCode, "203.0.113.8").want(t, http.StatusOK)
}
