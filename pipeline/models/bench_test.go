package models

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// benchFile is served over the loopback to the download benchmarks.
const benchSize = 64 << 20

func benchServer(b *testing.B) (*httptest.Server, []byte) {
	data := make([]byte, benchSize)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "f.bin", time.Time{}, bytes.NewReader(data))
	}))
	b.Cleanup(srv.Close)
	return srv, data
}

// BenchmarkFetch: pull's download of one 64 MiB file over the loopback —
// request, .part file and sidecar, progress, disk budget, idle timer,
// sha256 check, rename.
func BenchmarkFetch(b *testing.B) {
	srv, data := benchServer(b)
	src := Source{Host: HuggingFace, Path: "f.bin", Local: "f.bin", SHA256: sha256Hex(data)}
	o := PullOptions{Endpoints: map[Host]string{HuggingFace: srv.URL}, IdleTimeout: time.Minute, RetryWait: time.Millisecond}
	f := &fetcher{o: &o, client: &http.Client{}, progress: &progress{}}
	dst := filepath.Join(b.TempDir(), "f.bin")
	b.SetBytes(benchSize)
	for b.Loop() {
		os.Remove(dst)
		if err := f.fetch(context.Background(), Detector, src, dst); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFetchAnchorGo: the least the same work can cost in Go: GET,
// copy to a file, sha256 of the file.
func BenchmarkFetchAnchorGo(b *testing.B) {
	srv, _ := benchServer(b)
	dst := filepath.Join(b.TempDir(), "f.bin")
	b.SetBytes(benchSize)
	for b.Loop() {
		resp, err := http.Get(srv.URL + "/f.bin")
		if err != nil {
			b.Fatal(err)
		}
		out, _ := os.Create(dst)
		io.Copy(out, resp.Body)
		resp.Body.Close()
		out.Close()
		in, _ := os.Open(dst)
		h := sha256.New()
		io.Copy(h, in)
		in.Close()
	}
}

// BenchmarkFetchAnchorCurl: curl -o then sha256sum, the shell way.
func BenchmarkFetchAnchorCurl(b *testing.B) {
	if _, err := exec.LookPath("curl"); err != nil {
		b.Skip("no curl")
	}
	srv, _ := benchServer(b)
	dst := filepath.Join(b.TempDir(), "f.bin")
	b.SetBytes(benchSize)
	for b.Loop() {
		if out, err := exec.Command("sh", "-c", "curl -sf -o "+dst+" "+srv.URL+"/f.bin && sha256sum "+dst+" >/dev/null").CombinedOutput(); err != nil {
			b.Fatal(err, string(out))
		}
	}
}

// BenchmarkSynthSetTiny: `multisc models synth --size tiny` (every
// registered role, manifest).
func BenchmarkSynthSetTiny(b *testing.B) {
	dir := b.TempDir()
	for b.Loop() {
		if _, err := SynthSet(dir, "tiny", 1, "f32"); err != nil {
			b.Fatal(err)
		}
	}
}
