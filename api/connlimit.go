package api

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/civiq/civiq"
)

// ConnLimiter caps the connections a server holds open, per client
// address and in all, so that one host cannot take every file descriptor
// with idle connections. Each address (an IPv6 client: its /64) has
// PerAddr connections for anyone and, beyond them, DevicesPerAddr more
// for paired devices: a hall's displays, kiosks and counters often share
// one public address with the phones on its Wi-Fi. A connection taken
// from the devices' allowance must show a device's token in its first
// request, or it is answered 429 and closed. A connection refused outright
// gets a 429 and is closed before anything is read. 0 turns a cap off.
// A reverse proxy of Trusted (the server's TrustedProxies) carries every
// citizen's connections: only Total caps it.
type ConnLimiter struct {
	PerAddr        int
	DevicesPerAddr int
	Total          int
	Trusted        []netip.Prefix

	mu     sync.Mutex
	addrs  map[string]*addrConns
	total  int
	logged time.Time // when refusals were last logged
	quiet  int       // refusals since
}

// addrConns counts one address's open connections.
type addrConns struct{ open, devices int }

// Listen wraps ln: its Accept hands out only the connections the limits
// allow. Give the server ConnContext too.
func (l *ConnLimiter) Listen(ln net.Listener) net.Listener {
	return &limitListener{Listener: ln, l: l}
}

type limitListener struct {
	net.Listener
	l *ConnLimiter
}

// refusal is what a refused connection reads; its length is counted, not
// written by hand.
var refusal = func() []byte {
	const body = "too many connections from this address; retry.\n"
	return fmt.Appendf(nil, "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 5\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}()

func (ll *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := ll.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr := remoteAddr(c)
		key := civiq.AddrKey(addr)
		device, ok := ll.l.admit(key, !inPrefixes(ll.l.Trusted, addr))
		if ok {
			return &limitedConn{Conn: c, l: ll.l, key: key, device: device, pending: device}, nil
		}
		refuse(c)
	}
}

// refuse answers a connection over the limits 429 and closes it with a
// reset, so that it leaves nothing behind on the server.
func refuse(c net.Conn) {
	c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	c.Write(refusal)
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

func remoteAddr(c net.Conn) netip.Addr {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// admit counts a new connection from key: ok when one is free, device
// when it is the devices' allowance's; capped is false for a trusted
// proxy, held by the total alone.
func (l *ConnLimiter) admit(key string, capped bool) (device, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.addrs == nil {
		l.addrs = map[string]*addrConns{}
	}
	a := l.addrs[key]
	if a == nil {
		a = &addrConns{}
		l.addrs[key] = a
	}
	switch {
	case l.Total > 0 && l.total >= l.Total:
	case !capped || l.PerAddr <= 0 || a.open < l.PerAddr:
		a.open++
		l.total++
		return false, true
	case a.devices < l.DevicesPerAddr:
		a.devices++
		l.total++
		return true, true
	}
	if a.open+a.devices == 0 {
		delete(l.addrs, key)
	}
	l.quiet++
	if now := time.Now(); now.Sub(l.logged) >= 10*time.Second {
		slog.Warn("connections refused: too many from one address or in all", "refused", l.quiet, "last_address", key, "open", l.total)
		l.logged, l.quiet = now, 0
	}
	return false, false
}

func (l *ConnLimiter) release(key string, device bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.addrs[key]
	if a == nil {
		return
	}
	if device {
		a.devices--
	} else {
		a.open--
	}
	l.total--
	if a.open+a.devices == 0 {
		delete(l.addrs, key)
	}
}

// Open returns how many connections are open, in all and from the
// address a.
func (l *ConnLimiter) Open(a netip.Addr) (total, fromAddr int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c := l.addrs[civiq.AddrKey(a)]; c != nil {
		fromAddr = c.open + c.devices
	}
	return l.total, fromAddr
}

// limitedConn is a connection the limiter counts until it closes.
type limitedConn struct {
	net.Conn
	l       *ConnLimiter
	key     string
	device  bool // taken from the devices' allowance
	once    sync.Once
	mu      sync.Mutex
	pending bool // a device's, until a request shows a device's token
}

func (c *limitedConn) Close() error {
	c.once.Do(func() { c.l.release(c.key, c.device) })
	return c.Conn.Close()
}

type connKey struct{}

// ConnContext is the http.Server's ConnContext for a listener of a
// ConnLimiter: requests then know their connection's allowance.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if lc, ok := c.(*limitedConn); ok {
		return context.WithValue(ctx, connKey{}, lc)
	}
	return ctx
}

// deviceConnAllowed reports whether r may go on: a connection taken from
// the devices' allowance serves only requests with a device's token.
func (s *Server) deviceConnAllowed(r *http.Request) bool {
	lc, _ := r.Context().Value(connKey{}).(*limitedConn)
	if lc == nil || !lc.device {
		return true
	}
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if !lc.pending {
		return true
	}
	c := &call{}
	if err := s.authenticate(r, c); err != nil || c.p.Device == nil {
		return false
	}
	lc.pending = false
	return true
}
