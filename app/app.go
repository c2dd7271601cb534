// Package app wires civiq together: the store's committed events feed the
// metrics and the live streams, the engine runs the use cases, and the API
// and the pages share one handler. civiq serve builds it this way, and so
// do the tests, so that they run the real thing.
package app

import (
	"github.com/civiq/civiq"
	"github.com/civiq/civiq/api"
	"github.com/civiq/civiq/inmem"
	"github.com/civiq/civiq/sqlstore"
	"github.com/civiq/civiq/web"
)

// App is one node of civiq.
type App struct {
	Store   *sqlstore.Store
	Engine  *civiq.Engine
	Hub     *inmem.Hub
	Metrics *api.Metrics
	API     *api.Server // the handler: API, pages, static files
	Site    *web.Site
}

// New wires a node on store; it fails when the pages do not load. With shared set (PostgreSQL, several nodes)
// the store's own commits feed only this node's metrics: every node's
// events reach the hub through postgres.Follow instead.
func New(store *sqlstore.Store, version string, shared bool) (*App, error) {
	a := &App{Store: store, Hub: inmem.NewHub(), Metrics: api.NewMetrics()}
	a.Hub.OnCount = func(n int) { a.Metrics.Streams.Set(float64(n)) }
	if shared {
		store.Publish = a.Metrics.Observe
	} else {
		store.Publish = func(evs []*civiq.Event) {
			a.Metrics.Observe(evs)
			a.Hub.Publish(evs)
		}
	}
	a.Engine = civiq.NewEngine(store)
	a.API = api.NewServer(a.Engine, a.Hub, a.Metrics)
	a.API.Version = version
	a.API.Ready = store.Ready
	site, err := web.New(a.Engine, version)
	if err != nil {
		return nil, err
	}
	a.Site = site
	a.Site.Register(a.API.Mux())
	return a, nil
}
