package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/api"
	"github.com/civiq/civiq/app"
	"github.com/civiq/civiq/inmem"
	"github.com/civiq/civiq/outbound"
	"github.com/civiq/civiq/postgres"
	"github.com/civiq/civiq/sqlstore"
	"github.com/civiq/civiq/web"
	"github.com/civiq/civiq/webpush"
)

// Config is what civiq serve is told by flags and the environment.
type Config struct {
	Addr     string
	DB       string
	Postgres string
	Demo     bool
	// The allow lists, read with the flags (cidrsVar): who may read
	// /metrics, and the loopback, link-local and private addresses
	// webhooks, the notifications' providers and the push services may
	// reach (app.SetWebhookAllow, SetNotifyAllow, SetPushAllow).
	MetricsAllow, WebhookAllow []netip.Prefix
	NotifyAllow, PushAllow     []netip.Prefix
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client (api.Server.TrustedProxies, api.ConnLimiter.Trusted).
	TrustedProxies []netip.Prefix
	// WebhookPipeline is how many of a webhook's messages may wait for
	// their answers on one connection (outbound.HTTPSender.Pipeline); 0
	// (a Config made in code) sends one at a time, as 1 does.
	WebhookPipeline int
	// FrameAncestors: the origins that may embed the display and the
	// guides (web.ParseFrameAncestors).
	FrameAncestors string
	Synchronous    string
	LogLevel       string
	// MaxConnsPerAddr and MaxDeviceConnsPerAddr cap the connections of
	// one client address (api.ConnLimiter); 0 is no cap.
	MaxConnsPerAddr       int
	MaxDeviceConnsPerAddr int
	// VAPIDSubject is whom push services may contact about the Web Push
	// messages (a mailto: or https: URL).
	VAPIDSubject string
	// Edge makes the node the edge node of one hall under a city
	// (civiq.EdgeConfig): --edge --hall --city --edge-token.
	Edge     bool
	EdgeHall string
	CityURL  string
	// EdgeToken is the hall's edge token made on the city.
	EdgeToken string
	// SSO: the identity platform and the directory (sso.go).
	SSO SSOConfig
}

// Main is a running server: open it, serve, close it. Tests run the real
// program through it on 127.0.0.1:0.
type Main struct {
	Config   Config
	Store    *sqlstore.Store
	Engine   *civiq.Engine
	Hub      *inmem.Hub
	API      *api.Server
	HTTP     *http.Server
	Listener net.Listener
	// Conns caps the connections per client address and in all.
	Conns *api.ConnLimiter
	// AdminPassword is set when Open generated the first admin's password.
	AdminPassword string

	stop       chan struct{}
	loops      sync.WaitGroup     // the prune, the sweep and the alerts' check: Close waits for them before the store closes
	stopFollow context.CancelFunc // PostgreSQL: stops following other nodes' events
	unlock     func()             // SQLite: lets go of the database's lock file (lockDB)
	app        *app.App
}

// parseCIDRs reads a comma-separated list of CIDRs.
func parseCIDRs(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR, such as 10.20.0.0/16 or 10.20.0.7/32", s)
		}
		out = append(out, p)
	}
	return out, nil
}

// cidrsFlag is a flag of comma-separated CIDRs (parseCIDRs), read as it
// is set, so that a bad one fails with the flags, naming its flag; env
// is the environment variable read when the command line does not set
// it (envCIDRs).
type cidrsFlag struct {
	p   *[]netip.Prefix
	env string
}

func (f cidrsFlag) String() string {
	if f.p == nil {
		return ""
	}
	s := make([]string, len(*f.p))
	for i, p := range *f.p {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

func (f cidrsFlag) Set(v string) error {
	ps, err := parseCIDRs(v)
	if err == nil {
		*f.p = ps
	}
	return err
}

// cidrsVar defines a flag of CIDRs into p, its default the environment
// variable env.
func cidrsVar(fs *flag.FlagSet, p *[]netip.Prefix, name, env, usage string) {
	fs.Var(cidrsFlag{p, env}, name, usage)
}

// envCIDRs reads the environment variables of the CIDR flags the command
// line did not set; a bad one names the variable and its flag.
func envCIDRs(fs *flag.FlagSet) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		cf, ok := f.Value.(cidrsFlag)
		if !ok || set[f.Name] || err != nil {
			return
		}
		if v := os.Getenv(cf.env); v != "" {
			if e := cf.Set(v); e != nil {
				err = fmt.Errorf("%s (the default of --%s): %v", cf.env, f.Name, e)
			}
		}
	})
	return err
}

// prune forgets old events and idempotency keys now and every hour.
// It takes the stop channel as an argument: Close clears the field. The
// stop cancels a prune under way (between its batches), quietly.
func (m *Main) prune(stop <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		if err := m.Engine.Prune(ctx); err != nil && ctx.Err() == nil {
			slog.Warn("prune", "err", err)
		}
		select {
		case <-tick.C:
		case <-stop:
			return
		}
	}
}

// parseFlags parses a command's flags; ok is false when the command ends
// there, with code: 0 after -help, 2 after a wrong flag (the flag set has
// said why).
func parseFlags(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	return 0, true
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// envInt is env for a number; a value that is not one is left to envInts
// to refuse.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// envBool is a switch's environment variable: 1 (or true) turns it on; a
// value that is not a switch is left to envBools to refuse.
func envBool(name string) bool {
	v, err := strconv.ParseBool(os.Getenv(name))
	return err == nil && v
}

// envBools refuses the environment variable of a switch (flags names each)
// that the command line did not set and that is neither 1 nor 0 (nor
// true, false): CIVIQ_LDAP_STARTTLS=yes must not send passwords in clear.
func envBools(fs *flag.FlagSet, flags map[string]string) error {
	return envRefuse(fs, flags, "1 or 0", func(v string) error { _, err := strconv.ParseBool(v); return err })
}

// envInts refuses the environment variable of a number flag (flags names
// each) that the command line did not set and that is not a number: envInt
// left the default in its place.
func envInts(fs *flag.FlagSet, flags map[string]string) error {
	return envRefuse(fs, flags, "a number", func(v string) error { _, err := strconv.Atoi(v); return err })
}

// envRefuse names the first variable of flags (flag name to variable) the
// command line did not override whose value parse refuses.
func envRefuse(fs *flag.FlagSet, flags map[string]string, want string, parse func(string) error) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, name := range slices.Sorted(maps.Keys(flags)) {
		if v := os.Getenv(flags[name]); !set[name] && v != "" && parse(v) != nil {
			return fmt.Errorf("%s (the default of --%s): %q is not %s", flags[name], name, v, want)
		}
	}
	return nil
}

// ParseServeFlags reads the flags of civiq serve, with env defaults.
func ParseServeFlags(args []string, stderr io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Addr, "addr", env("CIVIQ_ADDR", "127.0.0.1:8080"), "address to listen on (env CIVIQ_ADDR)")
	fs.StringVar(&c.DB, "db", env("CIVIQ_DB", "civiq.db"), "SQLite database file (env CIVIQ_DB)")
	fs.StringVar(&c.Postgres, "postgres", env("CIVIQ_POSTGRES_URL", ""), "PostgreSQL URL; when set SQLite is not used (env CIVIQ_POSTGRES_URL)")
	fs.BoolVar(&c.Demo, "demo", envBool("CIVIQ_DEMO"), "load the demo hall when the database holds no hall (env CIVIQ_DEMO=1)")
	cidrsVar(fs, &c.MetricsAllow, "metrics-allow", "CIVIQ_METRICS_ALLOW", "comma-separated `CIDRs` that may read /metrics, in place of the default, loopback (env CIVIQ_METRICS_ALLOW)")
	cidrsVar(fs, &c.WebhookAllow, "webhook-allow", "CIVIQ_WEBHOOK_ALLOW", "comma-separated `CIDRs` of loopback, link-local or private addresses webhooks may be sent to; none by default (env CIVIQ_WEBHOOK_ALLOW)")
	cidrsVar(fs, &c.NotifyAllow, "notify-allow", "CIVIQ_NOTIFY_ALLOW", "comma-separated `CIDRs` of loopback, link-local or private addresses the notifications' SMS and WeChat providers may be reached at (a private cloud's); none by default (env CIVIQ_NOTIFY_ALLOW)")
	cidrsVar(fs, &c.PushAllow, "push-allow", "CIVIQ_PUSH_ALLOW", "comma-separated `CIDRs` of loopback, link-local or private addresses browsers' push services may be reached at; none by default: anyone names one by subscribing, for tests only (env CIVIQ_PUSH_ALLOW)")
	cidrsVar(fs, &c.TrustedProxies, "trusted-proxies", "CIVIQ_TRUSTED_PROXIES", "comma-separated `CIDRs` of the reverse proxies in front of civiq: a request from one is counted (limits per address, --metrics-allow, the sign-ins' audit) by the client its X-Forwarded-For names, and its connections are held by no cap per address; none by default (env CIVIQ_TRUSTED_PROXIES)")
	fs.IntVar(&c.WebhookPipeline, "webhook-pipeline", envInt("CIVIQ_WEBHOOK_PIPELINE", outbound.DefaultPipeline), "how many of a webhook's messages may be sent on one connection before their answers came (HTTP/1.1 pipelining); 1 sends one at a time (env CIVIQ_WEBHOOK_PIPELINE)")
	fs.StringVar(&c.FrameAncestors, "frame-ancestors", env("CIVIQ_FRAME_ANCESTORS", ""), "origins that may embed the hall display and the guide pages in a frame, e.g. https://portal.example.gov.cn; no page may be framed by default (env CIVIQ_FRAME_ANCESTORS)")
	fs.StringVar(&c.Synchronous, "sqlite-synchronous", env("CIVIQ_SQLITE_SYNCHRONOUS", "FULL"), "SQLite synchronous pragma: FULL survives a power loss (and may raise GOMAXPROCS by one, docs/api.md section 1), EXTRA too, syncing more often, NORMAL only a crash of the process (env CIVIQ_SQLITE_SYNCHRONOUS)")
	fs.StringVar(&c.LogLevel, "log-level", env("CIVIQ_LOG_LEVEL", "info"), "log level: debug, info, warn, error (env CIVIQ_LOG_LEVEL)")
	fs.IntVar(&c.MaxConnsPerAddr, "max-conns-per-addr", envInt("CIVIQ_MAX_CONNS_PER_ADDR", 256), "open connections one client address may hold; 0 for no cap, behind a proxy (env CIVIQ_MAX_CONNS_PER_ADDR)")
	fs.IntVar(&c.MaxDeviceConnsPerAddr, "max-device-conns-per-addr", envInt("CIVIQ_MAX_DEVICE_CONNS_PER_ADDR", 256), "more connections one address may hold for paired devices (env CIVIQ_MAX_DEVICE_CONNS_PER_ADDR)")
	fs.StringVar(&c.VAPIDSubject, "vapid-subject", env("CIVIQ_VAPID_SUBJECT", ""), "whom push services may contact about the browser notifications: mailto:you@example.gov.cn or https://your.site; Apple's push service needs one (env CIVIQ_VAPID_SUBJECT)")
	fs.BoolVar(&c.Edge, "edge", envBool("CIVIQ_EDGE"), "run as the edge node of one hall under a city: needs --hall, --city and --edge-token (env CIVIQ_EDGE=1)")
	c.edgeFlags(fs)
	c.SSO.ssoFlags(fs)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if err := envCIDRs(fs); err != nil {
		return c, err
	}
	if err := envInts(fs, map[string]string{"webhook-pipeline": "CIVIQ_WEBHOOK_PIPELINE",
		"max-conns-per-addr": "CIVIQ_MAX_CONNS_PER_ADDR", "max-device-conns-per-addr": "CIVIQ_MAX_DEVICE_CONNS_PER_ADDR"}); err != nil {
		return c, err
	}
	if err := envBools(fs, map[string]string{"demo": "CIVIQ_DEMO", "edge": "CIVIQ_EDGE", "ldap-starttls": "CIVIQ_LDAP_STARTTLS"}); err != nil {
		return c, err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return c, fmt.Errorf("--log-level (or CIVIQ_LOG_LEVEL) %q: want debug, info, warn or error", c.LogLevel)
	}
	if _, err := c.synchronous(); err != nil {
		return c, err
	}
	if c.WebhookPipeline < 1 {
		return c, fmt.Errorf("--webhook-pipeline must be at least 1 (1 sends one message at a time)")
	}
	if err := c.SSO.check(); err != nil { // sso.go
		return c, err
	}
	if c.Edge {
		if err := c.edge().Validate(); err != nil {
			return c, fmt.Errorf("%s", civiq.ErrorMessage(err))
		}
	} else if c.EdgeHall != "" || c.CityURL != "" || c.EdgeToken != "" {
		return c, fmt.Errorf("--hall, --city and --edge-token are for an edge node: add --edge")
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if s := c.VAPIDSubject; s != "" && !strings.HasPrefix(s, "mailto:") && !strings.HasPrefix(s, "https://") {
		return c, fmt.Errorf("--vapid-subject %q: want mailto:address or an https:// URL", s)
	}
	return c, nil
}

// edgeFlags defines the flags naming an edge node's hall, city and token,
// which serve --edge and edge-sync share.
func (c *Config) edgeFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.EdgeHall, "hall", env("CIVIQ_EDGE_HALL", ""), "the hall of an edge node (env CIVIQ_EDGE_HALL)")
	fs.StringVar(&c.CityURL, "city", env("CIVIQ_CITY_URL", ""), "the city's address for an edge node, e.g. https://city.example (env CIVIQ_CITY_URL)")
	fs.StringVar(&c.EdgeToken, "edge-token", env("CIVIQ_EDGE_TOKEN", ""), "the hall's edge token, made on the city; prefer the env (env CIVIQ_EDGE_TOKEN)")
}

func (c Config) edge() civiq.EdgeConfig {
	return civiq.EdgeConfig{Hall: c.EdgeHall, CityURL: c.CityURL, Token: c.EdgeToken}
}

// Open opens the store, creates the first admin and the demo hall when
// asked, and starts listening.
func (m *Main) Open(ctx context.Context) error {
	c := m.Config
	frames, err := web.ParseFrameAncestors(c.FrameAncestors)
	if err != nil {
		return fmt.Errorf("--frame-ancestors: %w", err)
	}
	sync, err := c.synchronous()
	if err != nil {
		return err
	}
	missing := c.missingKeyFiles()
	var store *sqlstore.Store
	if c.Postgres != "" {
		if store, err = postgres.Open(ctx, c.Postgres); err != nil {
			return err
		}
	} else {
		if m.unlock, err = lockDB(c.DB); err != nil {
			return err
		}
		if store, err = sqlstore.Open(c.DB, sqlstore.Options{Synchronous: sync}); err != nil {
			return err
		}
	}
	for _, w := range c.startWarnings() {
		slog.Warn(w)
	}
	a, err := app.New(store, Version(), c.Postgres != "")
	if err != nil {
		store.Close()
		return fmt.Errorf("pages: %w", err)
	}
	m.Store, m.Engine, m.Hub, m.API, m.app = store, a.Engine, a.Hub, a.API, a
	m.API.MetricsAllow, m.API.TrustedProxies = c.MetricsAllow, c.TrustedProxies
	a.SetWebhookAllow(c.WebhookAllow)
	a.SetNotifyAllow(c.NotifyAllow)
	a.SetPushAllow(c.PushAllow)
	a.Sender.Pipeline = max(c.WebhookPipeline, 1)
	if c.Edge {
		if err := a.SetEdge(ctx, c.edge()); err != nil {
			a.Close()
			store.Close()
			return fmt.Errorf("edge: %w", err)
		}
		slog.Info("edge node", "hall", c.EdgeHall, "city", c.CityURL, "edge_id", a.Link.EdgeID)
	}
	a.Site.FrameAncestors = frames
	if c.Postgres != "" {
		// Every node's events reach this node's streams through the events
		// table, woken by NOTIFY.
		last, err := store.LastEventID(ctx)
		if err != nil {
			store.Close()
			return fmt.Errorf("postgres: %w", err)
		}
		fctx, cancel := context.WithCancel(context.Background())
		m.stopFollow = cancel
		go postgres.Follow(fctx, c.Postgres, store, last, a.Followed, m.Engine.ForgetSettings)
	}
	// The key of the bookings' personal data (idnumber.go): CIVIQ_SECRET_KEY,
	// or the file beside the database, made on first start (mode 0600).
	if m.Engine.Sealer, err = civiq.OpenSealer(os.Getenv(civiq.EnvSecretKey), keyFileOf(c, "key")); err != nil {
		store.Close()
		return fmt.Errorf("secret key: %w", err)
	}
	// The keys that sign the cases' receipts (receipt.go): CIVIQ_RECEIPT_KEYS,
	// or the file beside the database, made on first start (mode 0600).
	if m.Engine.Receipts, err = civiq.OpenReceiptKeys(os.Getenv(civiq.EnvReceiptKeys), keyFileOf(c, "receipt-keys")); err != nil {
		store.Close()
		return fmt.Errorf("receipt keys: %w", err)
	}
	// Single sign-on's flags, once the secret key opens an admin's
	// settings (sso.go).
	if err := c.SSO.setSSO(ctx, a); err != nil {
		store.Close()
		return err
	}
	// The Web Push key pair (webpush.VAPID): CIVIQ_VAPID_KEY, or the file
	// beside the database, made on first start (mode 0600).
	vapidKey, err := civiq.OpenKey(EnvVAPIDKey, os.Getenv(EnvVAPIDKey), keyFileOf(c, "vapid-key"))
	if err != nil {
		store.Close()
		return fmt.Errorf("vapid key: %w", err)
	}
	vapid, err := webpush.NewVAPID(vapidKey, c.VAPIDSubject)
	if err != nil {
		store.Close()
		return fmt.Errorf("vapid key: %w", err)
	}
	a.SetVAPID(vapid)
	if len(missing) > 0 {
		slog.Error("the database was used before, but its key files were missing and are new: if it was restored or moved, stop civiq and put back the key files kept with it (or set the variables), else the personal data sealed before does not open and receipts signed before do not verify",
			"new_key_files", strings.Join(missing, ", "))
	}
	// Ratings' contact phones given before they were sealed are sealed now.
	if n, err := m.Engine.SealRatingPhones(ctx); err != nil {
		store.Close()
		return fmt.Errorf("seal the ratings' contact phones: %w", err)
	} else if n > 0 {
		slog.Info("sealed the contact phones of ratings kept in clear", "ratings", n)
	}
	pw, err := m.Engine.Bootstrap(ctx, os.Getenv("CIVIQ_ADMIN_PASSWORD"))
	if err != nil {
		return fmt.Errorf("create first admin: %w", err)
	}
	if pw != "" {
		m.AdminPassword = pw
		slog.Warn("created the first user 'admin' with a random password, shown only this once; set CIVIQ_ADMIN_PASSWORD to choose it", "username", "admin", "password", pw)
	}
	if c.Demo {
		loaded, err := m.Engine.LoadDemo(ctx)
		if err != nil {
			return fmt.Errorf("load demo hall: %w", err)
		}
		if loaded {
			slog.Info("loaded the demo hall", "hall", "demo")
		}
		// The demo catalogue of 办事指南 (guide.go), also into a demo hall
		// made before guides existed.
		if loaded, err := m.Engine.LoadDemoGuides(ctx); err != nil {
			return fmt.Errorf("load demo guides: %w", err)
		} else if loaded {
			slog.Info("loaded the demo service guides", "hall", "demo")
		}
	}
	// Every setting the delivery workers read is set: they start.
	a.Start()
	// A connection that sends no request within ReadHeaderTimeout, or
	// none more within IdleTimeout, is closed: idle ones are cheap to
	// open and each holds a file descriptor.
	m.HTTP = &http.Server{
		Handler:           m.API,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second, // event streams lift it for themselves
		IdleTimeout:       30 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ConnContext:       api.ConnContext,
	}
	m.HTTP.RegisterOnShutdown(m.API.Close)
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		store.Close()
		return err
	}
	m.Conns = &api.ConnLimiter{PerAddr: c.MaxConnsPerAddr, DevicesPerAddr: c.MaxDeviceConnsPerAddr, Trusted: c.TrustedProxies}
	if soft, hard, err := raiseFileLimit(); err != nil {
		slog.Warn("file limit unknown", "err", err)
	} else {
		// The connections in all leave an eighth of the files (at least
		// 64) to the database and the rest of the process.
		files := int(min(soft, 1<<24))
		m.Conns.Total = files - max(64, files/8)
		slog.Info("file limit", "open_files", soft, "hard_limit", hard, "max_connections", m.Conns.Total,
			"max_conns_per_addr", c.MaxConnsPerAddr, "max_device_conns_per_addr", c.MaxDeviceConnsPerAddr)
	}
	m.Listener = m.Conns.Listen(ln)
	m.stop = make(chan struct{})
	stop := m.stop
	m.loops.Go(func() { m.prune(stop) })
	m.loops.Go(func() { m.Engine.SweepEvery(time.Minute, stop) })                 // strikes.go: no-shows on time
	m.loops.Go(func() { m.Engine.CheckAlertsEvery(civiq.AlertCheckEvery, stop) }) // alert.go: a wait passes the level with no event
	go func() {
		if err := m.HTTP.Serve(m.Listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Error("serve", "err", err)
		}
	}()
	return nil
}

// URL is where the server listens.
func (m *Main) URL() string { return "http://" + m.Listener.Addr().String() }

// HomeURL is the home page's address to open in a browser: the listening
// address, with a loopback host where it listens on every address.
func (m *Main) HomeURL() string { return homeURL(m.Listener.Addr()) }

func homeURL(a net.Addr) string {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return "http://" + a.String() + "/"
	}
	ip := ap.Addr().Unmap()
	if ip.IsUnspecified() {
		ip = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	return "http://" + netip.AddrPortFrom(ip, ap.Port()).String() + "/"
}

// Close stops accepting, finishes requests in flight, ends event streams
// and closes the database after its last write.
func (m *Main) Close() error {
	var errs []error
	if m.stop != nil {
		close(m.stop)
		m.stop = nil
	}
	if m.HTTP != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		m.API.Close()
		if err := m.HTTP.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
		// Shutdown forgets the connections the event streams took: wait
		// for their handlers, so none reads the store once it is closed.
		if err := m.API.WaitStreams(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if m.stopFollow != nil {
		m.stopFollow()
	}
	if m.app != nil {
		m.app.Close() // the delivery workers, before the store
	}
	m.loops.Wait() // stopped above: none writes once the store is closed
	if m.Store != nil {
		errs = append(errs, m.Store.Close())
	}
	if m.unlock != nil {
		m.unlock() // after the store: the file is free for another serve
		m.unlock = nil
	}
	return errors.Join(errs...)
}

func setupLogging(level string, w io.Writer) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})))
}

// synchronous is --sqlite-synchronous as SQLite's pragma takes it, or the
// error naming the flag: ParseServeFlags and Main.Open (of a Config made
// in code) check it alike.
func (c Config) synchronous() (string, error) {
	s := strings.ToUpper(c.Synchronous)
	if s != "FULL" && s != "NORMAL" && s != "EXTRA" {
		return "", fmt.Errorf("--sqlite-synchronous (or CIVIQ_SQLITE_SYNCHRONOUS) %q: want FULL, EXTRA or NORMAL", c.Synchronous)
	}
	return s, nil
}

// syncer says whether the store has a WAL syncer beside its writer
// (sqlstore/walsync.go): SQLite at FULL.
func (c Config) syncer() bool {
	return c.Postgres == "" && strings.EqualFold(c.Synchronous, "FULL")
}

// serveProcs is how many Ps (GOMAXPROCS) civiq serve runs Go code on,
// given whether the store has a WAL syncer (Config.syncer), the
// environment's GOMAXPROCS, the runtime's default of procs and the CPUs
// the process may use (runtime.NumCPU); 0 leaves the runtime's choice.
// On SQLite at FULL each commit's fsync blocks the WAL's syncer
// beside the writer (sqlstore/walsync.go) in the kernel for about a
// millisecond without using a CPU, and its P stays with it until the
// runtime's monitor takes it back, which under load is mostly after the
// fsync has ended: with a P per CPU, one CPU then waits while handlers
// are ready to run. One P more than the CPUs runs them meanwhile
// (BENCHMARKS.md, issue 19, "Scheduling under load"). That was measured
// at FULL only: at EXTRA the store has no syncer (the writer fsyncs
// inside its COMMIT), so EXTRA keeps the runtime's choice, as do NORMAL
// (no fsync a commit) and PostgreSQL (it syncs in its own process).
//
// The runtime's default follows a container's CPU limit (rounded up, and
// to 2 at least): when it is below the CPUs a limit is in force, and a P
// more than the quota would only be throttled, so the runtime's choice
// stands. A limit below 2 on a machine of 2 CPUs cannot be told from
// none this way. A GOMAXPROCS set by the operator always wins; once set
// here, the runtime no longer follows a later change of the limit.
func serveProcs(syncer bool, env string, procs, cpus int) int {
	if env != "" || !syncer || procs != cpus {
		return 0
	}
	return procs + 1
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := ParseServeFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "civiq serve:", err)
		return 2
	}
	setupLogging(cfg.LogLevel, stderr)
	if os.Getenv("GOGC") == "" {
		// The heap is small and short-lived: collect half as often.
		debug.SetGCPercent(200)
	}
	if n := serveProcs(cfg.syncer(), os.Getenv("GOMAXPROCS"), runtime.GOMAXPROCS(0), runtime.NumCPU()); n > 0 {
		runtime.GOMAXPROCS(n)
	}
	if path := os.Getenv("CIVIQ_CPUPROFILE"); path != "" {
		// For engineers measuring the server under civiq bench; {pid}
		// tells apart the nodes of a PostgreSQL run.
		path = strings.ReplaceAll(path, "{pid}", strconv.Itoa(os.Getpid()))
		if f, err := os.Create(path); err == nil {
			pprof.StartCPUProfile(f)
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	m := &Main{Config: cfg}
	if err := m.Open(ctx); err != nil {
		fmt.Fprintln(stderr, "civiq serve:", err)
		m.Close()
		return 1
	}
	db := cfg.DB
	if cfg.Postgres != "" {
		db = "postgresql" // not the URL: it may hold a password
	}
	slog.Info("civiq is serving: open the home page", "url", m.HomeURL(), "version", Version(), "db", db, "gomaxprocs", runtime.GOMAXPROCS(0))
	<-ctx.Done()
	slog.Info("shutting down")
	if err := m.Close(); err != nil {
		slog.Error("shutdown", "err", err)
		return 1
	}
	return 0
}

// keyFileOf is a server's key file of a kind ("key" for the personal
// data's, "receipt-keys", "vapid-key" for Web Push's): beside the SQLite
// database, or in the working directory with PostgreSQL. Lose the Web
// Push one and every browser subscribed must subscribe again.
func keyFileOf(c Config, kind string) string {
	if c.Postgres != "" {
		return "civiq-postgres." + kind
	}
	return c.DB + "." + kind
}

// startWarnings say which of the keys shared between nodes the
// environment lacks: the nodes of one PostgreSQL database need the same
// three, and an edge node the city's secret key and receipt keys
// (docs/api.md, section 16); without them a node makes key files of its
// own. And an edge's link to a city that is not on this machine over
// plain http: the personal data going up would travel in clear.
func (c Config) startWarnings() []string {
	var out []string
	if u, err := url.Parse(c.CityURL); c.Edge && err == nil && u.Scheme == "http" && !civiq.LoopbackHost(u.Hostname()) {
		out = append(out, "--city is http://: the contact phones of bad ratings and the applicants of cases go up to the city unencrypted; give the city's https:// address")
	}
	unset := func(env string) bool { return os.Getenv(env) == "" }
	switch {
	case c.Postgres != "":
		if unset(civiq.EnvSecretKey) {
			out = append(out, "CIVIQ_SECRET_KEY is not set: personal data is sealed with a key file of this node only; give every node the same CIVIQ_SECRET_KEY")
		}
		if unset(civiq.EnvReceiptKeys) {
			out = append(out, "CIVIQ_RECEIPT_KEYS is not set: receipts are signed with a key file of this node only; give every node the same CIVIQ_RECEIPT_KEYS")
		}
		if unset(EnvVAPIDKey) {
			out = append(out, "CIVIQ_VAPID_KEY is not set: browser notifications are signed with a key file of this node only; give every node the same CIVIQ_VAPID_KEY")
		}
	case c.Edge:
		if unset(civiq.EnvSecretKey) {
			out = append(out, "CIVIQ_SECRET_KEY is not set: the edge does not open the personal data of the city's bookings (a card reader's check-in); give the edge the city's CIVIQ_SECRET_KEY")
		}
		if unset(civiq.EnvReceiptKeys) {
			out = append(out, "CIVIQ_RECEIPT_KEYS is not set: the receipts of cases opened at the edge are signed with a key file of the edge only, which the city's receipt check calls not genuine; give the edge the city's CIVIQ_RECEIPT_KEYS")
		}
	}
	return out
}

// missingKeyFiles are the key files (keyFileOf) that the server is about
// to make afresh, their variables unset, for an SQLite database that
// exists already: a database restored or moved without them. An edge
// node's database that edge-sync made has none yet, rightly.
func (c Config) missingKeyFiles() []string {
	if c.Postgres != "" || c.Edge {
		return nil
	}
	if fi, err := os.Stat(c.DB); err != nil || fi.Size() == 0 {
		return nil
	}
	var missing []string
	for _, k := range []struct{ kind, env string }{{"key", civiq.EnvSecretKey}, {"receipt-keys", civiq.EnvReceiptKeys}, {"vapid-key", EnvVAPIDKey}} {
		f := keyFileOf(c, k.kind)
		if _, err := os.Stat(f); os.Getenv(k.env) == "" && errors.Is(err, os.ErrNotExist) {
			missing = append(missing, f)
		}
	}
	return missing
}

// EnvVAPIDKey holds the Web Push (VAPID) private key: a P-256 scalar, 64
// hex digits or base64url (as web-push tools print it).
const EnvVAPIDKey = "CIVIQ_VAPID_KEY"

// runRotateReceiptKey adds a new receipt key to the key file: the servers
// sign with it once started again, and the old keys still verify.
func runRotateReceiptKey(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rotate-receipt-key", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c Config
	fs.StringVar(&c.DB, "db", env("CIVIQ_DB", "civiq.db"), "SQLite database whose receipt key file (DB.receipt-keys) to rotate (env CIVIQ_DB)")
	fs.StringVar(&c.Postgres, "postgres", env("CIVIQ_POSTGRES_URL", ""), "rotate civiq-postgres.receipt-keys instead (env CIVIQ_POSTGRES_URL)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if os.Getenv(civiq.EnvReceiptKeys) != "" {
		fmt.Fprintln(stderr, "civiq rotate-receipt-key: CIVIQ_RECEIPT_KEYS is set: add a new key (64 hex digits) at its end instead")
		return 2
	}
	if c.Postgres == "" && !fileExists(c.DB) && !fileExists(keyFileOf(c, "receipt-keys")) {
		// A name mistyped would get a key file no server reads.
		fmt.Fprintf(stderr, "civiq rotate-receipt-key: %s: no such database (give --db the server's database)\n", c.DB)
		return 1
	}
	id, err := civiq.RotateReceiptKey(keyFileOf(c, "receipt-keys"))
	if err != nil {
		fmt.Fprintln(stderr, "civiq rotate-receipt-key:", err)
		return 1
	}
	fmt.Fprintf(stdout, "receipt key %s added to %s: it signs once the server starts again; the old keys still verify\n", id, keyFileOf(c, "receipt-keys"))
	return 0
}
