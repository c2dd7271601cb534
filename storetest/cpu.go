package storetest

import (
	"syscall"
	"testing"
	"time"
)

// CPUPerOp starts counting the process's CPU time, user and system, of
// every goroutine (the store's writer and senders too); the function it
// returns reports it per op in unit ("cpu-µs/op" for time.Microsecond,
// "cpu-ms/op" for time.Millisecond). On a shared machine it moves far
// less than ns/op, which includes waiting for a CPU and for the disk.
func CPUPerOp(b *testing.B, unit time.Duration) func() {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	name := "cpu-ms/op"
	if unit == time.Microsecond {
		name = "cpu-µs/op"
	}
	c0 := cpu()
	return func() {
		b.ReportMetric(float64(cpu()-c0)/float64(unit)/float64(b.N), name)
	}
}
