package eval

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/multisc/multisc/pipeline"
	"github.com/multisc/multisc/pipeline/dataset"
)

// BenchmarkSweepRow is the sweep's own cost per row (plan, JSON, append and
// fsync, progress) with a runner that does no work: what the eval machinery
// adds to each row of a real sweep (ns/row); one op is a sweep of 224 rows.
func BenchmarkSweepRow(b *testing.B) {
	root := writeImages(b, 8)
	p := testParams
	p.SNRs = []float64{0, 3, 6, 9, 12, 15, 18}
	ds, err := dataset.OpenFolder(root, dataset.Options{})
	if err != nil {
		b.Fatal(err)
	}
	rowsPer := 8 * len(p.Methods) * len(p.Channels) * len(p.SNRs)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		out := filepath.Join(b.TempDir(), "s")
		s, err := New(ds, p, Shard{}, out)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := s.Run(context.Background(), &fakeRunner{}, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rowsPer), "ns/row")
}

// BenchmarkReport writes the whole report (means, points, eight figures,
// Table II) of a sweep of 24 images × 4 methods × 2 channels × 7 SNRs
// (1344 rows, Kodak24's size).
func BenchmarkReport(b *testing.B) {
	root := writeImages(b, 24)
	p := testParams
	p.Methods = pipeline.Methods
	p.SNRs = []float64{0, 3, 6, 9, 12, 15, 18}
	dir := filepath.Join(b.TempDir(), "s")
	mustSweep(b, root, dir, p, Shard{}, &fakeRunner{})
	out := b.TempDir()
	b.ResetTimer()
	for range b.N {
		if _, _, err := WriteReport(out, dir); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	os.RemoveAll(out)
}
