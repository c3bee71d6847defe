package pipeline

import (
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/internal/procmem"
	"github.com/multisc/multisc/pipeline/imageio"
)

// BenchmarkRun runs one image end to end (Transmit + Row: awgn, 5 dB) on a
// models folder and reports the median seconds of every stage, the
// transmitter and receiver wall times, the pipeline's overhead over the
// sum of its stages, how much a 7-SNR sweep saves by reusing the
// transmission (ratio of recomputing to reusing), the load time and the
// peak RSS. Skipped unless MULTISC_BENCH_MODELS names a models folder.
//
//	MULTISC_BENCH_MODELS   models folder (e.g. `multisc models synth --size full --type f16`),
//	                       or "tiny" for the tests' tiny set (a smoke test of the benchmark)
//	MULTISC_BENCH_IMAGE    image (default: a synthetic 512×512 picture)
//	MULTISC_BENCH_METHOD   method (default multisc-fusion)
//	MULTISC_BENCH_SIZE     generation side in pixels (default 512)
//	MULTISC_BENCH_STEPS    sampler steps (default 20)
//	MULTISC_THREADS        CPU threads (default all)
//	MULTISC_DEVICE         device (default auto)
//
// Example: MULTISC_BENCH_MODELS=full-f16 MULTISC_BENCH_SIZE=256 go test
// ./pipeline -run '^$' -bench BenchmarkRun -benchtime 3x
func BenchmarkRun(b *testing.B) {
	dir := benchModels(b)
	envInt := func(k string, def int) int {
		if v, err := strconv.Atoi(os.Getenv(k)); err == nil {
			return v
		}
		return def
	}
	o := DefaultSystemOptions()
	o.Model = bindings.Options{Device: os.Getenv("MULTISC_DEVICE"), Threads: envInt("MULTISC_THREADS", 0)}
	if o.Model.Device == "" {
		o.Model.Device = "auto"
	}
	side := envInt("MULTISC_BENCH_SIZE", 512)
	o.Width, o.Height, o.Steps = side, side, envInt("MULTISC_BENCH_STEPS", 20)
	method := os.Getenv("MULTISC_BENCH_METHOD")
	if method == "" {
		method = MethodFusion
	}
	o.Methods = []string{method}
	s, err := OpenSystem(dir, o)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var img = testImage512()
	if p := os.Getenv("MULTISC_BENCH_IMAGE"); p != "" {
		if img, err = imageio.Load(p); err != nil {
			b.Fatal(err)
		}
	}
	t0 := time.Now()
	if err := s.Preload(method); err != nil {
		b.Fatal(err)
	}
	load := time.Since(t0).Seconds()
	stages := map[string][]float64{}
	var txWall, rxWall, overhead, reuse []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t := time.Now()
		tx, err := s.Transmit(TransmitRequest{ImageID: "bench", Image: img, Method: method, Seed: uint64(i)})
		if err != nil {
			b.Fatal(err)
		}
		tw := time.Since(t).Seconds()
		t = time.Now()
		rec, err := s.Row(tx, "awgn", 5, uint64(i))
		if err != nil {
			b.Fatal(err)
		}
		rw := time.Since(t).Seconds()
		sum := 0.0
		for k, v := range rec.Seconds {
			if k != "total" {
				stages[k] = append(stages[k], v)
				sum += v
			}
		}
		txWall, rxWall = append(txWall, tw), append(rxWall, rw)
		overhead = append(overhead, 100*(tw+rw-sum)/sum)
		// 7 SNRs: recompute the transmitter for each vs once.
		reuse = append(reuse, 7*(tw+rw)/(tw+7*rw))
		b.Logf("run %d: %d blocks, transmit %.2f s, receive+metrics %.2f s, stages %v", i, rec.Blocks, tw, rw, rec.Seconds)
	}
	b.StopTimer()
	names := make([]string, 0, len(stages))
	for k := range stages {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		b.ReportMetric(median(stages[k]), k+"-s")
	}
	b.ReportMetric(median(txWall), "transmit-s")
	b.ReportMetric(median(rxWall), "receive-s")
	b.ReportMetric(median(overhead), "overhead-%")
	b.ReportMetric(median(reuse), "sweep7-reuse-x")
	b.ReportMetric(load, "load-s")
	b.ReportMetric(procmem.PeakMiB(), "peak-MiB")
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	w := append([]float64(nil), v...)
	sort.Float64s(w)
	if n := len(w); n%2 == 1 {
		return w[n/2]
	} else {
		return (w[n/2-1] + w[n/2]) / 2
	}
}

// BenchmarkResident opens every model of a models folder (all roles,
// Preload of multisc-fusion plus the metrics' models) and reports the load
// time and the process's peak RSS: what the whole set costs resident.
// Skipped unless MULTISC_BENCH_MODELS is set (see BenchmarkRun);
// MULTISC_BENCH_NOMETRICS=1 leaves out the evaluation's models (lpips,
// embedder): the transmitter and receiver alone.
func BenchmarkResident(b *testing.B) {
	dir := benchModels(b)
	o := DefaultSystemOptions()
	o.Model = bindings.Options{Device: "cpu"}
	o.NoMetrics = os.Getenv("MULTISC_BENCH_NOMETRICS") != ""
	var load []float64
	for i := 0; i < b.N; i++ {
		s, err := OpenSystem(dir, o)
		if err != nil {
			b.Fatal(err)
		}
		t := time.Now()
		if err := s.Preload(MethodFusion); err != nil {
			b.Fatal(err)
		}
		load = append(load, time.Since(t).Seconds())
		s.Close()
	}
	b.ReportMetric(median(load), "load-s")
	b.ReportMetric(procmem.PeakMiB(), "peak-MiB")
}

// benchModels is $MULTISC_BENCH_MODELS ("tiny": a synthesized tiny set);
// the benchmark is skipped when it is not set.
func benchModels(b *testing.B) string {
	b.Helper()
	dir := os.Getenv("MULTISC_BENCH_MODELS")
	if dir == "" {
		b.Skip("set MULTISC_BENCH_MODELS to a models folder")
	}
	if dir == "tiny" {
		dir = tinySet(b)
	}
	return dir
}
