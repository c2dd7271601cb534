// Package app wires civiq together: the store's committed events feed the
// metrics and the live streams, the engine runs the use cases, and the API
// and the pages share one handler. civiq serve builds it this way, and so
// do the tests, so that they run the real thing.
package app

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/api"
	"github.com/civiq/civiq/edgelink"
	"github.com/civiq/civiq/inmem"
	"github.com/civiq/civiq/notify"
	"github.com/civiq/civiq/outbound"
	"github.com/civiq/civiq/sqlstore"
	"github.com/civiq/civiq/sso"
	"github.com/civiq/civiq/web"
	"github.com/civiq/civiq/webpush"
)

// App is one node of civiq.
type App struct {
	Store   *sqlstore.Store
	Engine  *civiq.Engine
	Hub     *inmem.Hub
	Metrics *api.Metrics
	API     *api.Server // the handler: API, pages, static files
	Site    *web.Site
	// Outbound delivers the events to webhooks (package outbound); Start
	// starts it, Close stops it.
	Outbound *outbound.Dispatcher
	Sender   *outbound.HTTPSender
	// Senders sends each kind of subscriber's messages: webhooks with
	// Sender; each other kind adds its own before Start.
	Senders outbound.Kinds
	// Push sends Web Push messages signed with the installation's VAPID
	// key (SetVAPID), to public addresses and those SetPushAllow allows.
	Push *webpush.Client
	// Providers reaches the notifications' SMS and WeChat providers: public
	// addresses and those SetNotifyAllow allows.
	Providers *http.Client
	// pushAllow is the allow list of Push; Providers' is the engine's
	// NotifyAllow.
	pushAllow []netip.Prefix
	// EdgeSender sends the hall's events up on an edge node (package
	// edgelink); Link is the edge's link to its city, nil on a city.
	EdgeSender *edgelink.Sender
	Link       *edgelink.Client
	stopHello  context.CancelFunc
	// stopWarn ends WarnRefused's read, which Start runs beside serving;
	// warned is done when it has ended.
	stopWarn context.CancelFunc
	warned   sync.WaitGroup
	// Notify sends the halls' notifications to citizens (package notify),
	// one of Senders; NotifyLog is the log channel ("provider":"log") the
	// demo and the tests use, and Makers the providers a hall may choose.
	Notify    *notify.Sender
	NotifyLog *notify.Log
	Makers    notify.Makers
	// SSO are single sign-on's clients of the settings in force
	// (package sso): the flags' (SetSSOFlags), else an admin's.
	SSO *sso.Clients
}

// New wires a node on store; it fails when the pages do not load. With shared set (PostgreSQL, several nodes)
// the store's own commits feed only this node's metrics: every node's
// events reach the hub through postgres.Follow instead.
func New(store *sqlstore.Store, version string, shared bool) (*App, error) {
	a := &App{Store: store, Hub: inmem.NewHub(), Metrics: api.NewMetrics()}
	a.Hub.OnCount = func(n int) { a.Metrics.Streams.Set(float64(n)) }
	a.Engine = civiq.NewEngine(store)
	a.Sender = outbound.NewHTTPSender()
	a.Sender.UserAgent = "civiq/" + version
	a.Sender.Now = func() time.Time { return a.Engine.Now() } // the engine's clock, which tests set
	a.EdgeSender = &edgelink.Sender{Engine: a.Engine}
	a.Push = &webpush.Client{HTTP: outbound.GuardedClient(func() []netip.Prefix { return a.pushAllow }, civiq.FlagPushAllow, outbound.Timeout),
		UserAgent: a.Sender.UserAgent}
	a.Providers = outbound.GuardedClient(func() []netip.Prefix { return a.Engine.NotifyAllow }, civiq.FlagNotifyAllow, outbound.Timeout)
	a.NotifyLog = &notify.Log{}
	a.Makers = notify.Makers{
		"log":     func(*civiq.ProviderSettings) (civiq.Channel, error) { return a.NotifyLog, nil },
		"webpush": notify.NewWebPush(a.Push),
		"wechat":  (&notify.WeChatMaker{HTTP: a.Providers}).Make,
		"aliyun":  notify.NewAliyun(a.Providers),
		"tencent": notify.NewTencent(a.Providers),
	}
	a.Engine.Channels = a.Makers.Channel
	a.Notify = notify.NewSender(a.Engine)
	a.Senders = outbound.Kinds{civiq.SubscriberWebhook: a.Sender, civiq.SubscriberEdge: a.EdgeSender, civiq.SubscriberNotify: a.Notify}
	a.Senders[civiq.SubscriberHaochaping] = &outbound.Haochaping{Engine: a.Engine, HTTP: a.Sender} // 好差评 reporters
	a.Engine.Outbound = a.Senders
	a.Outbound = outbound.New(a.Engine, a.Senders, outbound.NewMetrics(a.Metrics.Registry))
	a.Outbound.Exclusive = !shared
	a.Engine.SubscribersChanged = a.Outbound.Changed
	if shared {
		store.Publish = func(evs []*civiq.Event) {
			a.Metrics.Observe(evs)
			a.Outbound.Notify()
			a.Notify.Committed()
		}
	} else {
		store.Publish = func(evs []*civiq.Event) {
			a.Metrics.Observe(evs)
			a.Hub.Publish(evs)
			a.Outbound.Committed(evs) // the delivery workers find them without reading them back
			a.Notify.Committed()
		}
	}
	a.API = api.NewServer(a.Engine, a.Hub, a.Metrics)
	a.API.Version = version
	a.API.Ready = store.Ready
	// Readiness is known before the node serves: one probe write now, so
	// that on a file it cannot write /readyz answers 503 from the first
	// request (and tries a write at each call until one succeeds).
	if err := store.Ready(context.Background()); err != nil {
		slog.Warn("storage does not take writes at start: /readyz answers 503 until it does", "err", err)
	}
	site, err := web.New(a.Engine, version)
	if err != nil {
		return nil, err
	}
	a.Site = site
	a.SSO = &sso.Clients{Engine: a.Engine}
	a.Site.SSO = a.SSO
	a.Engine.MakeDirectory = a.SSO.Directory
	a.Site.Register(a.API.Mux())
	// A key of this node alone until SetVAPID gives the installation's
	// (civiq serve does, from its key file): enough for tests.
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	v, err := webpush.NewVAPID(k.Bytes(), "")
	if err != nil {
		return nil, err
	}
	a.SetVAPID(v)
	return a, nil
}

// Start starts the node's delivery workers (webhooks, 好差评 reporters,
// notifications, the edge link). Call it once, after the node's settings
// are set (SetWebhookAllow, SetVAPID, the engine's sealer and clock, the
// sender's pipeline): the workers read them from their first message on.
// It also warns of stored settings whose address the allow lists refuse
// (WarnRefused), beside serving, not before it: that reads every hall's
// settings, which takes a while with many halls. Close waits for it.
func (a *App) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	a.stopWarn = cancel
	a.warned.Go(func() { a.WarnRefused(ctx) })
	a.Outbound.Start()
}

// WarnRefused logs a warning for each stored setting whose address the
// node's allow lists refuse (civiq.Engine.RefusedAddresses): the setting
// and the flag, never the address, a secret or personal data. Settings
// that worked before --ldap-allow and --notify-allow existed fail when
// used until the operator allows their address.
func (a *App) WarnRefused(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second) // beside serving: a slow read holds nothing up
	defer cancel()
	refused, err := a.Engine.RefusedAddresses(ctx)
	if err != nil && ctx.Err() == context.Canceled { // Close, before the read ended
		return
	}
	if err != nil {
		slog.Warn("allow lists: cannot read the stored settings", "err", err)
		return
	}
	for _, r := range refused {
		slog.Warn("a stored setting names an address the allow lists refuse: its use fails until civiq serve allows it",
			"setting", r.Setting, "flag", r.Flag)
	}
}

// SetVAPID makes v the key pair of Web Push: it signs the messages, and the
// phone page subscribes browsers with its public key. Set it before
// serving.
func (a *App) SetVAPID(v *webpush.VAPID) {
	a.Push.VAPID = v
	a.Site.VAPIDPublicKey = v.PublicKey()
}

// SetWebhookAllow lets webhooks reach the loopback, link-local and private
// addresses in allow (civiq serve --webhook-allow): checked when one is
// registered and when its address is dialled.
func (a *App) SetWebhookAllow(allow []netip.Prefix) {
	a.Engine.WebhookAllow = allow
	a.Sender.Allow = allow
}

// SetNotifyAllow lets the notifications' SMS and WeChat providers be
// reached at the loopback, link-local and private addresses in allow
// (civiq serve --notify-allow: a private cloud's endpoint), checked when
// an admin sets a hall's provider endpoint and when their address is
// dialled; webhooks are not let reach them. Set it before Start.
func (a *App) SetNotifyAllow(allow []netip.Prefix) { a.Engine.NotifyAllow = allow }

// SetPushAllow lets the browsers' push services be reached at the
// loopback, link-local and private addresses in allow (civiq serve
// --push-allow). A citizen's browser names its push service, and anyone
// may subscribe a ticket: a real one is public, and this is for tests
// (a stand-in on loopback). Set it before Start.
func (a *App) SetPushAllow(allow []netip.Prefix) { a.pushAllow = allow }

// SetOIDCAllow lets the identity platform be reached at the loopback,
// link-local and private addresses in allow (civiq serve --oidc-allow):
// checked when its settings are set (an admin's, SetSSOFlags) and when
// its address is dialled. Set it before SetSSOFlags and serving.
func (a *App) SetOIDCAllow(allow []netip.Prefix) {
	a.Engine.OIDCAllow = allow
}

// SetLDAPAllow lets the directory be reached at the loopback, link-local
// and private addresses in allow (civiq serve --ldap-allow), as
// SetOIDCAllow does the identity platform. Set it before SetSSOFlags and
// serving.
func (a *App) SetLDAPAllow(allow []netip.Prefix) {
	a.Engine.LDAPAllow = allow
}

// SetSSOFlags makes s (civiq serve's --oidc-… and --ldap-… flags) the
// single sign-on in force while no admin has set one (PUT /api/v1/sso),
// and roots the certificates that sign the directory's (--ldap-ca-file;
// nil: the system's). Set it before serving.
func (a *App) SetSSOFlags(s *civiq.SSOSettings, roots *x509.CertPool) error {
	if s != nil {
		if err := s.CheckAt(a.Engine.OIDCAllow, a.Engine.LDAPAllow); err != nil {
			return err
		}
		if s.OIDC == nil && s.LDAP == nil {
			s = nil
		}
	}
	a.Engine.SetSSOFlags(s)
	a.SSO.LDAPRoots = roots
	return nil
}

// Followed is given the events of every node that postgres.Follow hears
// (several nodes on PostgreSQL): the live streams carry them, they wake
// the delivery workers, and a subscriber another node changed has this
// node's dispatcher list them again.
func (a *App) Followed(evs []*civiq.Event) {
	a.Hub.Publish(evs)
	a.Outbound.Events(evs)
	a.Notify.Committed() // the notifications' sender gathers while the hall writes
}

// HelloEvery is how often an edge tells its city it is there.
var HelloEvery = 15 * time.Second

// SetEdge makes the node the edge node of cfg's hall (civiq serve --edge):
// the hall's live work is its own, its configuration the city's; its
// events go up to the city through the edge link's subscriber, and it
// says hello to the city every HelloEvery.
func (a *App) SetEdge(ctx context.Context, cfg civiq.EdgeConfig) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	c := edgelink.New(cfg)
	id, err := a.Engine.EdgeSelf(ctx)
	if err != nil {
		return fmt.Errorf("edge id: %w", err)
	}
	c.EdgeID = id
	if _, err := a.Engine.EnsureEdgeLink(ctx, cfg.Hall, c.City); err != nil {
		return fmt.Errorf("edge link: %w", err)
	}
	a.Engine.Node = civiq.Node{Role: civiq.NodeEdge, Hall: cfg.Hall}
	// The hall's configuration: pulled at once on an empty database,
	// then every while, with the city's requests (edgelink.Down).
	down := &edgelink.Down{Engine: a.Engine, Client: c}
	if _, err := a.Engine.EdgePull(ctx, cfg.Hall); civiq.IsNotFound(err) {
		if _, err := down.Sync(ctx); err != nil {
			return fmt.Errorf("the first pull of hall %s from the city: %w", cfg.Hall, err)
		}
	} else if err != nil {
		return err
	}
	a.Link = c
	a.EdgeSender.SetClient(c)
	a.API.Link = c
	hctx, cancel := context.WithCancel(context.Background())
	a.stopHello = cancel
	if err := down.Start(hctx); err != nil {
		cancel()
		return err
	}
	go edgelink.Hello(hctx, a.Engine, c, HelloEvery)
	a.Outbound.Changed() // the edge link's subscriber, at once
	return nil
}

// Close stops the delivery workers, the edge's hello and the warning's
// read (Start); the store stays open.
func (a *App) Close() {
	if a.stopHello != nil {
		a.stopHello()
	}
	if a.stopWarn != nil {
		a.stopWarn()
	}
	a.warned.Wait() // its read ends before the store closes
	a.Outbound.Stop()
}
