package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// metricsImg is a pair from pipeline/metrics/testdata (scikit-image vectors).
func metricsImg(name string) string {
	return filepath.Join("..", "..", "pipeline", "metrics", "testdata", "img", name)
}

// TestMetricsVerb checks text and JSON output against the scikit-image
// 0.19.3 values in pipeline/metrics/testdata/image_metrics.json (the library
// tests hold the tight tolerances; here 1e-9 guards the plumbing).
func TestMetricsVerb(t *testing.T) {
	ref, img := metricsImg("gradient_noise10_ref.png"), metricsImg("gradient_noise10_img.png")
	out, stderr, code := runCLI(t, "metrics", "--ref", ref, "--img", img)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"psnr    28.5155 dB", "ssim    0.737083", "cosine  0.990954 [embedding rgb-pixels-centred]", "(32x24)"} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "lpips") {
		t.Fatalf("lpips reported without --lpips:\n%s", out)
	}

	out, stderr, code = runCLI(t, "metrics", "--ref", ref, "--img", img, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r metricsReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if r.PSNR == nil || math.Abs(*r.PSNR-28.515521566755222) > 1e-9 || math.Abs(r.SSIM-0.7370833402791103) > 1e-9 ||
		r.Cosine == nil || math.Abs(*r.Cosine-0.9909536720355988) > 1e-6 || r.CosineEmbedding != "rgb-pixels-centred" || r.LPIPS != nil {
		t.Fatalf("JSON report %+v", r)
	}
}

// TestMetricsVerbEdgeValues: infinite PSNR and undefined cosine print as
// words and go to JSON as null.
func TestMetricsVerbEdgeValues(t *testing.T) {
	same := metricsImg("identical_ref.png")
	out, _, code := runCLI(t, "metrics", "--ref", same, "--img", metricsImg("identical_img.png"))
	if code != 0 || !strings.Contains(out, "psnr    inf dB") || !strings.Contains(out, "ssim    1.000000") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	out, _, code = runCLI(t, "metrics", "--ref", metricsImg("constants_ref.png"), "--img", metricsImg("constants_img.png"), "--json")
	if code != 0 || !strings.Contains(out, `"cosine": null`) {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

func TestMetricsBadInput(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.png")
	os.WriteFile(text, []byte("not an image\n"), 0o644)
	tiny := filepath.Join(dir, "tiny.png")
	src, _ := os.ReadFile(metricsImg("gradient_noise10_ref.png"))
	os.WriteFile(tiny, src[:len(src)/2], 0o644) // truncated PNG
	ref := metricsImg("gradient_noise10_ref.png")
	tests := []struct {
		name      string
		args      []string
		fragments []string
	}{
		{"size mismatch", []string{"--ref", ref, "--img", metricsImg("constants_img.png")}, []string{"--ref", "32x24", "--img", "16x16", "constants_img.png"}},
		{"non-image", []string{"--ref", ref, "--img", text}, []string{text, "not an image"}},
		{"truncated", []string{"--ref", tiny, "--img", ref}, []string{tiny, "truncated"}},
		{"missing file", []string{"--ref", filepath.Join(dir, "nope.png"), "--img", ref}, []string{"nope.png", "no such image file"}},
		{"directory", []string{"--ref", dir, "--img", ref}, []string{dir, "is a directory"}},
		{"missing flag", []string{"--ref", ref}, []string{"--ref and --img"}},
		{"positional", []string{"--ref", ref, "--img", ref, "extra"}, []string{"no arguments"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runCLI(t, append([]string{"metrics"}, tc.args...)...)
			wantBadInput(t, stderr, code, tc.fragments...)
		})
	}
}
