package api

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/civiq/civiq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are civiq's Prometheus metrics, on a registry of their own.
type Metrics struct {
	Registry *prometheus.Registry
	Issued   *prometheus.CounterVec
	Wait     *prometheus.HistogramVec
	Service  *prometheus.HistogramVec
	Streams  prometheus.Gauge
	HTTP     *prometheus.HistogramVec
	// QuotaRefusals counts tickets refused by a service's quota (quota.go):
	// a refusal changes nothing, so it is no event row but this count.
	QuotaRefusals *prometheus.CounterVec
}

// NewMetrics registers the metrics.
func NewMetrics() *Metrics {
	minutes := []float64{30, 60, 120, 300, 600, 900, 1200, 1800, 2700, 3600, 5400, 7200}
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Issued: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "civiq_tickets_issued_total",
			Help: "Tickets issued, by hall, service and channel."}, []string{"hall", "service", "channel"}),
		Wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "civiq_wait_seconds",
			Help: "Time from issue to first call.", Buckets: minutes}, []string{"hall", "service"}),
		Service: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "civiq_service_seconds",
			Help: "Time from start of service to done.", Buckets: minutes}, []string{"hall", "service"}),
		Streams: prometheus.NewGauge(prometheus.GaugeOpts{Name: "civiq_stream_clients", Help: "Live event streams open."}),
		HTTP: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "civiq_http_request_duration_seconds",
			Help: "HTTP request latency by route.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}, []string{"method", "route", "code"}),
		QuotaRefusals: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "civiq_quota_refusals_total",
			Help: "Tickets refused by a service's quota, by hall, service and quota (daily_quota, half_day_quota, per_person_daily)."}, []string{"hall", "service", "quota"}),
	}
	m.Registry.MustRegister(m.Issued, m.Wait, m.Service, m.Streams, m.HTTP, m.QuotaRefusals,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// httpMethods are the methods the HTTP metrics name; any other is "other".
var httpMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

// observeHTTP times a request. Every label comes from a fixed set, however
// requests are made (issue 18: 100,000 made-up methods made as many
// series): the method from httpMethods, the route from the patterns
// registered, the status from 100-599; anything else is "other".
func (m *Metrics) observeHTTP(method, pattern string, status int, d time.Duration) {
	if !slices.Contains(httpMethods, method) {
		method = "other"
	}
	if pattern == "" {
		pattern = "other"
	}
	code := "other"
	if status >= 100 && status <= 599 {
		code = strconv.Itoa(status)
	}
	m.HTTP.WithLabelValues(method, pattern, code).Observe(d.Seconds())
}

// Observe counts what committed events tell: issues, waits and service times.
func (m *Metrics) Observe(events []*civiq.Event) {
	for _, e := range events {
		t := e.Ticket
		if t == nil {
			continue
		}
		switch e.Type {
		case civiq.EventIssued:
			m.Issued.WithLabelValues(t.HallID, t.ServiceID, t.Channel).Inc()
		case civiq.EventCalled:
			if t.CalledAt != nil {
				m.Wait.WithLabelValues(t.HallID, t.ServiceID).Observe(t.CalledAt.Sub(t.IssuedAt).Seconds())
			}
		case civiq.EventDone:
			if t.DoneAt != nil && t.ServingAt != nil {
				m.Service.WithLabelValues(t.HallID, t.ServiceID).Observe(t.DoneAt.Sub(*t.ServingAt).Seconds())
			}
		}
	}
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	ip := clientIP(r) // behind a trusted proxy, the client it names
	allowed := inPrefixes(s.MetricsAllow, ip) || len(s.MetricsAllow) == 0 && ip.IsLoopback()
	if !allowed || s.metrics == nil {
		writeError(w, r, civiq.Errorf(civiq.EForbidden, "metrics are served only to the allow-list"))
		return
	}
	promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}
