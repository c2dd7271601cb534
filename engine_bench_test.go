package civiq_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/storetest"
)

// parallelism times GOMAXPROCS goroutines run each benchmark: a hall has
// many kiosks, phones and counters at once, and the store commits the writes
// that wait together, so one fsync serves many of them.
const parallelism = 16

// BenchmarkIssueTicket issues tickets from many goroutines at once, as
// kiosks and phones do, on a real SQLite file with synchronous=FULL: each
// ticket is on disk when IssueTicket returns.
func BenchmarkIssueTicket(b *testing.B) {
	e := newEnv(b)
	e.eng.Now = time.Now
	services := []string{"general", "property", "tax", "social"}
	var n atomic.Uint64
	b.SetParallelism(parallelism)
	b.ReportAllocs()
	b.ResetTimer()
	defer storetest.CPUPerOp(b, time.Microsecond)()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			req := civiq.IssueRequest{HallID: "demo", ServiceID: services[i%uint64(len(services))], Channel: civiq.ChannelKiosk}
			if _, err := e.eng.IssueTicket(e.ctx, req, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkIssueTicketQuota issues general-intake tickets in a day that
// already holds dayTickets of them, without quotas and with all three set
// too high to refuse: what counting a service's day costs each issue.
func BenchmarkIssueTicketQuota(b *testing.B) {
	const dayTickets = 1000
	for _, quotas := range []bool{false, true} {
		name := "none"
		if quotas {
			name = "set"
		}
		b.Run(name, func(b *testing.B) {
			e := newEnv(b)
			e.eng.Now = time.Now
			if quotas {
				svc := &civiq.Service{HallID: "demo", ID: "general", Prefix: "A", Name: "综合受理",
					DailyQuota: civiq.MaxQuota, HalfDayQuota: civiq.MaxQuota, PerPersonDaily: civiq.MaxQuota}
				if err := e.eng.SaveService(e.ctx, svc, civiq.KeepQuotas{}); err != nil {
					b.Fatal(err)
				}
			}
			issueMany(b, e, "general", dayTickets)
			b.SetParallelism(parallelism)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := civiq.IssueRequest{HallID: "demo", ServiceID: "general", Channel: civiq.ChannelKiosk}
					if _, err := e.eng.IssueTicket(e.ctx, req, nil); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkCallNext calls tickets at the counters that serve general intake,
// several goroutines at once, as a signed-in clerk (recorded as serving
// each ticket); each call also finishes the counter's previous ticket.
// The b.N tickets are issued before the clock starts.
func BenchmarkCallNext(b *testing.B) {
	e := newEnv(b)
	e.eng.Now = time.Now
	clerk := &civiq.User{Username: "bench.clerk", Role: civiq.RoleStaff, HallIDs: []string{"demo"}}
	if err := e.eng.CreateUser(e.ctx, clerk, "bench.clerk-password"); err != nil {
		b.Fatal(err)
	}
	ctx := civiq.WithActor(e.ctx, civiq.Principal{User: clerk})
	issueMany(b, e, "general", b.N)
	counters := []string{"1", "2", "3", "4", "6"}
	var n atomic.Uint64
	b.SetParallelism(parallelism)
	b.ReportAllocs()
	b.ResetTimer()
	defer storetest.CPUPerOp(b, time.Microsecond)()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c := counters[n.Add(1)%uint64(len(counters))]
			t, err := e.eng.CallNext(ctx, "demo", c, nil)
			if err != nil {
				b.Error(err)
				return
			}
			if t == nil {
				b.Error("nobody waits: the queue ran dry")
				return
			}
		}
	})
}

// issueMany issues n tickets of a service, 32 at a time.
func issueMany(b *testing.B, e *env, service string, n int) {
	b.Helper()
	var left atomic.Int64
	left.Store(int64(n))
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for left.Add(-1) >= 0 {
				if _, err := e.eng.IssueTicket(e.ctx, civiq.IssueRequest{HallID: "demo", ServiceID: service, Channel: civiq.ChannelKiosk}, nil); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
