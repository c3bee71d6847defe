package models_test

import (
	"image"
	"image/color"
	"testing"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/pipeline"
	"github.com/multisc/multisc/pipeline/models"
)

// TestPullThenRun: a models folder made by `models pull` (every role, from
// the publishers' layouts over loopback) runs the whole system, for every
// method: the pulled files are what the system expects, not only what
// `models check` accepts.
func TestPullThenRun(t *testing.T) {
	dir := models.PullAllFromLoopback(t)
	o := pipeline.DefaultSystemOptions()
	o.Model = bindings.Options{Device: "cpu", Threads: 1}
	o.Steps, o.Width, o.Height = 2, 32, 32
	o.CaptionMaxTokens, o.Beams, o.RandomBlocks, o.MinBlock = 6, 1, 3, 8
	s, err := pipeline.OpenSystem(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	img := image.NewNRGBA(image.Rect(0, 0, 48, 40))
	for y := 0; y < 40; y++ {
		for x := 0; x < 48; x++ {
			img.SetNRGBA(x, y, color.NRGBA{uint8(5 * x), uint8(6 * y), 120, 255})
		}
	}
	for _, m := range pipeline.Methods {
		tx, err := s.Transmit(pipeline.TransmitRequest{ImageID: "pic", Image: img, Method: m, Seed: 1})
		if err != nil {
			t.Fatalf("%s: transmit: %v", m, err)
		}
		rec, err := s.Row(tx, "rayleigh", 5, 2)
		if err != nil {
			t.Fatalf("%s: row: %v", m, err)
		}
		if rec.Metrics.Cosine == nil || rec.Metrics.LPIPS == nil || len(rec.Captions) == 0 {
			t.Errorf("%s: incomplete record %+v", m, rec)
		}
		// the record names the pulled files it used, by their manifest hash
		for _, r := range pipeline.MethodRoles(m) {
			if rec.Models[string(r)] == "" {
				t.Errorf("%s: record lacks the %s file's hash: %v", m, r, rec.Models)
			}
		}
	}
}
