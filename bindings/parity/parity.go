// Package parity compares a port's outputs with a PyTorch fixture, under the
// project's rule: max |Δ| ≤ tol · max|ref| (tol = 1e-4 in f32, see
// shared/DESIGN.md).
package parity

import (
	"fmt"
	"math"
)

// Tol is the f32 parity tolerance relative to max|ref|.
const Tol = 1e-4

// Compare returns an error describing the worst element when got and want
// differ by more than tol·max|want|.
func Compare(got, want []float32, tol float64) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d values, want %d", len(got), len(want))
	}
	var maxRef, maxDiff float64
	at := 0
	for i := range want {
		maxRef = max(maxRef, math.Abs(float64(want[i])))
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if d > maxDiff || math.IsNaN(d) {
			maxDiff, at = d, i
			if math.IsNaN(d) {
				break
			}
		}
	}
	if math.IsNaN(maxDiff) || maxDiff > tol*maxRef {
		return fmt.Errorf("max |Δ| = %.3g at %d (got %g, want %g) > %g·max|ref| = %.3g",
			maxDiff, at, got[at], want[at], tol, tol*maxRef)
	}
	return nil
}

// MaxRelErr is max|Δ| / max|ref|, for reporting.
func MaxRelErr(got, want []float32) float64 {
	var maxRef, maxDiff float64
	for i := range want {
		maxRef = max(maxRef, math.Abs(float64(want[i])))
		maxDiff = max(maxDiff, math.Abs(float64(got[i])-float64(want[i])))
	}
	return maxDiff / maxRef
}
