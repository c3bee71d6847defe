// Package cputime reports a benchmark's process CPU time beside its wall
// time (a dependency-free package, so the engine layer's own benchmarks
// can use it too).
package cputime

import (
	"syscall"
	"testing"
	"time"
)

// Report reports, when the returned function is called after the
// benchmark loop, the process's user+system CPU time per op as "cpu-ms/op"
// beside the wall time. On a shared machine the CPU time of a one-thread
// run (`taskset -c N`: ggml then runs one thread, so no spinning barriers)
// is what the work costs, whatever else time-shares the core; with more
// threads it also counts ggml's barrier spinning.
//
//	defer cputime.Report(b)()
//	for b.Loop() { ... }
func Report(b *testing.B) func() {
	start := now()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64((now()-start).Microseconds())/1e3/float64(b.N), "cpu-ms/op")
		}
	}
}

func now() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
