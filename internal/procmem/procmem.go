// Package procmem reads the process's memory figures: the peak resident
// set that records and benchmarks report.
package procmem

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// PeakRSS is the process's peak resident set in bytes (Linux VmHWM from
// /proc/self/status); 0 where it is unknown.
func PeakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			if fields := strings.Fields(rest); len(fields) > 0 {
				if kb, err := strconv.ParseInt(fields[0], 10, 64); err == nil {
					return kb * 1024
				}
			}
		}
	}
	return 0
}

// PeakMiB is PeakRSS in MiB, the unit benchmarks report.
func PeakMiB() float64 { return float64(PeakRSS()) / (1 << 20) }
