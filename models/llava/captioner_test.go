package llava

import (
	"image"
	"path/filepath"
	"slices"
	"testing"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings"
)

func synthPair(t *testing.T, typ fsggml.TensorType, seed uint64) (string, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "lm.gguf")
	files, err := SynthPair("tiny", seed, typ, out)
	if err != nil {
		t.Fatal(err)
	}
	return files[0], files[1]
}

func openTiny(t *testing.T, typ fsggml.TensorType) *Captioner {
	t.Helper()
	lm, mm := synthPair(t, typ, 3)
	c, err := Open(lm, mm, bindings.Options{Device: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func testImages(n int) []image.Image {
	var out []image.Image
	for k := range n {
		img := image.NewNRGBA(image.Rect(0, 0, 30+7*k, 24))
		for i := range img.Pix {
			img.Pix[i] = uint8(i*(k+3) + 11*k)
		}
		out = append(out, img)
	}
	return out
}

func TestCaptionBatchEqualsSequential(t *testing.T) {
	c := openTiny(t, fsggml.TensorTypeF32)
	imgs := testImages(3)
	o := Options{MaxTokens: 12, KeepLogits: true}
	batch, err := c.Caption(imgs, o)
	if err != nil {
		t.Fatal(err)
	}
	for i, img := range imgs {
		one, err := c.Caption([]image.Image{img}, o)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(one[0].Tokens, batch[i].Tokens) || one[0].Text != batch[i].Text {
			t.Errorf("image %d: batch %v %q, alone %v %q", i, batch[i].Tokens, batch[i].Text, one[0].Tokens, one[0].Text)
		}
		t.Logf("image %d: %d prompt tokens, %v (%s) %q", i, batch[i].PromptTokens, batch[i].Tokens, batch[i].Stop, batch[i].Text)
	}
	if slices.Equal(batch[0].Tokens, batch[1].Tokens) {
		t.Errorf("different images gave the same tokens %v", batch[0].Tokens)
	}
}
