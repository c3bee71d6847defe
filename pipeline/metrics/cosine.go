package metrics

import (
	"fmt"
	"image"
	"math"

	"github.com/multisc/multisc/bindings/badinput"
)

// Embedder maps an image to a feature vector. Cosine similarity is defined
// over any Embedder so that learned embeddings (CLIP image features, say) plug
// in next to the raw-pixel one; results must always be reported together with
// Name(), since numbers from different embeddings are not comparable.
type Embedder interface {
	// Name identifies the embedding in reports, e.g. "rgb-pixels-centred".
	Name() string
	// Embed returns the feature vector of img.
	Embed(img image.Image) ([]float32, error)
}

// PixelEmbedder is the raw-pixel embedding: the image's 8-bit RGB samples,
// flattened row-major with channels interleaved (R, G, B, R, …), minus their
// own mean. Cosine similarity over it is the Pearson correlation of the two
// images' pixels. Vectors of images of different sizes differ in length.
type PixelEmbedder struct{}

// PixelEmbeddingName is PixelEmbedder's Name.
const PixelEmbeddingName = "rgb-pixels-centred"

// Name implements Embedder.
func (PixelEmbedder) Name() string { return PixelEmbeddingName }

// Embed implements Embedder.
func (PixelEmbedder) Embed(img image.Image) ([]float32, error) {
	p := toPlanes(img)
	n := p.w * p.h
	if n == 0 {
		return nil, badinput.Errorf("empty image")
	}
	sum := 0.0
	for k := range p.c {
		for _, v := range p.c[k] {
			sum += v
		}
	}
	mean := sum / float64(3*n)
	out := make([]float32, 3*n)
	for i := 0; i < n; i++ {
		for k := range p.c {
			out[3*i+k] = float32(p.c[k][i] - mean)
		}
	}
	return out, nil
}

// Cosine is the cosine similarity of the embeddings of ref and img under e.
// It is NaN when either embedding is the zero vector (for PixelEmbedder: a
// single-colour image), as numpy's a·b/(|a||b|) would be.
func Cosine(e Embedder, ref, img image.Image) (float64, error) {
	a, err := e.Embed(ref)
	if err != nil {
		return 0, fmt.Errorf("%s embedding of the reference: %w", e.Name(), err)
	}
	b, err := e.Embed(img)
	if err != nil {
		return 0, fmt.Errorf("%s embedding of the image: %w", e.Name(), err)
	}
	if len(a) != len(b) {
		return 0, badinput.Errorf("%s embeddings differ in length (%d and %d): images of different sizes?", e.Name(), len(a), len(b))
	}
	return CosineVectors(a, b)
}

// CosineVectors is a·b/(|a||b|), accumulated in float64.
func CosineVectors(a, b []float32) (float64, error) {
	if len(a) != len(b) {
		return 0, badinput.Errorf("embedding lengths differ: %d and %d", len(a), len(b))
	}
	var dot, na, nb float64
	for i, av := range a {
		x, y := float64(av), float64(b[i])
		dot += x * y
		na += x * x
		nb += y * y
	}
	if na == 0 || nb == 0 {
		return math.NaN(), nil
	}
	return dot / (math.Sqrt(na) * math.Sqrt(nb)), nil
}
