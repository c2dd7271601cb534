package main

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// dialFrom opens a TCP connection to the server from a loopback address
// of its own (127.0.0.2 is another host as far as the server knows).
func dialFrom(t *testing.T, from string, m *Main) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", m.Listener.Addr().String())
	if err != nil {
		t.Fatalf("dial from %s: %v", from, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// get sends one request on c and returns the answer's status ("" when the
// server closed the connection without one).
func get(t *testing.T, c net.Conn, path, token string) string {
	t.Helper()
	req := "GET " + path + " HTTP/1.1\r\nHost: civiq\r\n"
	if token != "" {
		req += "Authorization: Bearer " + token + "\r\n"
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(req + "\r\n")); err != nil {
		return ""
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return ""
	}
	res.Body.Close()
	return res.Status[:3]
}

// One address holds at most its connections, and more for paired devices;
// the rest are refused at once, and /healthz answers another client
// throughout (issue 18: 20,600 idle connections from one host took every
// file descriptor).
func TestConnectionsCappedPerAddress(t *testing.T) {
	t.Setenv("CIVIQ_ADMIN_PASSWORD", testAdminPassword)
	m, _ := startConfig(t, Config{Addr: "127.0.0.1:0", DB: filepath.Join(t.TempDir(), "civiq.db"), Demo: true,
		Synchronous: "FULL", MaxConnsPerAddr: 8, MaxDeviceConnsPerAddr: 4})
	hc := newHTTPClient()
	admin := mustLogin(t, hc, m.URL(), "admin", testAdminPassword)
	var dev struct {
		Device struct {
			PairingCode string `json:"pairing_code"`
		} `json:"device"`
	}
	mustDo(t, hc, "POST", m.URL()+"/api/v1/halls/demo/devices", admin, map[string]string{"kind": "display", "name": "大屏"}, http.StatusCreated, &dev)
	var paired struct {
		Token string `json:"token"`
	}
	mustDo(t, hc, "POST", m.URL()+"/api/v1/devices/pair", "", map[string]string{"code": dev.Device.PairingCode}, http.StatusOK, &paired)

	flooder := netip.MustParseAddr("127.0.0.2")
	for i := 0; i < 8; i++ { // the address's own connections, held idle
		dialFrom(t, "127.0.0.2", m)
	}
	waitOpen(t, m, flooder, 8)
	// Beyond them, a connection serves a paired device only.
	if got := get(t, dialFrom(t, "127.0.0.2", m), "/healthz", ""); got != "429" {
		t.Fatalf("anonymous request over the address's connections: %q, want 429", got)
	}
	device := dialFrom(t, "127.0.0.2", m)
	if got := get(t, device, "/api/v1/auth/me", paired.Token); got != "200" {
		t.Fatalf("device over the address's connections: %q, want 200", got)
	}
	// A flood of idle connections: the server holds none of them (it may
	// reset one before the dial returns).
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	for i := 0; i < 200; i++ {
		if c, err := d.Dial("tcp", m.Listener.Addr().String()); err == nil {
			defer c.Close()
		}
	}
	time.Sleep(100 * time.Millisecond)
	if _, n := m.Conns.Open(flooder); n > 8+4 {
		t.Fatalf("%d connections open from one address, cap 8 + 4 for devices", n)
	}
	if c, err := d.Dial("tcp", m.Listener.Addr().String()); err == nil {
		defer c.Close()
		if got := get(t, c, "/healthz", ""); got != "429" && got != "" {
			t.Fatalf("flooder's next connection: %q, want 429 or closed", got)
		}
	}
	if got := get(t, dialFrom(t, "127.0.0.1", m), "/healthz", ""); got != "200" {
		t.Fatalf("/healthz from another address during the flood: %q, want 200", got)
	}
	if got := get(t, device, "/api/v1/auth/me", paired.Token); got != "200" {
		t.Fatalf("the device's connection during the flood: %q, want 200", got)
	}
}

// waitOpen waits until the server has accepted n connections from a.
func waitOpen(t *testing.T, m *Main, a netip.Addr, n int) {
	t.Helper()
	for i := 0; ; i++ {
		if _, got := m.Conns.Open(a); got >= n {
			return
		} else if i == 500 {
			t.Fatalf("%d connections open from %s, want %d", got, a, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestServeTimeouts(t *testing.T) {
	m := mustRun(t)
	if m.HTTP.IdleTimeout > time.Minute || m.HTTP.ReadHeaderTimeout > 10*time.Second {
		t.Fatalf("IdleTimeout %v, ReadHeaderTimeout %v: idle connections are kept too long", m.HTTP.IdleTimeout, m.HTTP.ReadHeaderTimeout)
	}
	if !strings.Contains(m.Listener.Addr().String(), "127.0.0.1") {
		t.Fatalf("listening on %s", m.Listener.Addr())
	}
}

// A trusted reverse proxy carries every citizen's connections: no cap
// per address holds it, while another address stays capped; the flag
// takes CIDRs and names itself when given something else.
func TestTrustedProxyNotCapped(t *testing.T) {
	c, err := ParseServeFlags([]string{"--trusted-proxies", "127.0.0.2/32"}, &bytes.Buffer{})
	if err != nil || len(c.TrustedProxies) != 1 {
		t.Fatalf("--trusted-proxies: %v %v", c, err)
	}
	if _, err := ParseServeFlags([]string{"--trusted-proxies", "nginx"}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "-trusted-proxies") {
		t.Fatalf("--trusted-proxies nginx: %v", err)
	}
	t.Setenv("CIVIQ_ADMIN_PASSWORD", testAdminPassword)
	m, _ := startConfig(t, Config{Addr: "127.0.0.1:0", DB: filepath.Join(t.TempDir(), "civiq.db"), Demo: true,
		Synchronous: "FULL", MaxConnsPerAddr: 4, TrustedProxies: c.TrustedProxies})
	for range 10 {
		dialFrom(t, "127.0.0.2", m)
	}
	waitOpen(t, m, netip.MustParseAddr("127.0.0.2"), 10)
	if got := get(t, dialFrom(t, "127.0.0.2", m), "/healthz", ""); got != "200" {
		t.Fatalf("the proxy's 11th connection: %q, want 200", got)
	}
	for range 4 {
		dialFrom(t, "127.0.0.3", m)
	}
	waitOpen(t, m, netip.MustParseAddr("127.0.0.3"), 4)
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.3")}}
	if c, err := d.Dial("tcp", m.Listener.Addr().String()); err == nil { // or reset before the dial returns
		defer c.Close()
		if got := get(t, c, "/healthz", ""); got != "429" && got != "" {
			t.Fatalf("another address's 5th connection: %q, want 429 or closed", got)
		}
	}
	if _, n := m.Conns.Open(netip.MustParseAddr("127.0.0.3")); n != 4 {
		t.Fatalf("%d connections open from another address, cap 4", n)
	}
}
