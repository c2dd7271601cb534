package sim

import "github.com/civiq/civiq"

// The M/M/c model lives in the root package (civiq/erlang.go), where the
// dashboard's service-level alerts use it too; the planner names it here.

// Queue is the M/M/c model of one service (civiq.ErlangQueue).
type Queue = civiq.ErlangQueue

// ErlangB is civiq.ErlangB.
func ErlangB(c int, a float64) float64 { return civiq.ErlangB(c, a) }

// ErlangC is civiq.ErlangC.
func ErlangC(c int, a float64) float64 { return civiq.ErlangC(c, a) }

// CountersFor is civiq.CountersFor: the fewest counters with which a share
// goal of citizens is called within target seconds.
func CountersFor(arrivalsPerHour, handlingSeconds, target, goal float64) int {
	return civiq.CountersFor(arrivalsPerHour, handlingSeconds, target, goal)
}
