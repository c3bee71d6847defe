package sd

import (
	"image"

	"github.com/ollama/ollama/ml"

	"github.com/multisc/multisc/bindings"
)

// Tiled VAE decoding keeps memory bounded for large images: the latents are
// cut into overlapping tiles, each decoded alone, and the pixel tiles are
// blended with weights that ramp linearly across each overlap (1 in a tile's
// interior, falling to 0 at an edge it shares with a neighbour), so seams do
// not show. GroupNorm sees one tile's statistics, so a tiled image is close
// to, not equal to, the untiled one (TestTiledDecode measures it).

// TileLatents is the latent tile side above which Generate decodes in tiles
// (64 latents = 512 pixels for SD 1.5), and TileOverlap their overlap.
const (
	TileLatents = 64
	TileOverlap = 16
)

// decodeRaw decodes latents [w, h, Z] (scaled) to planar RGB [W, H, 3] in
// [−1, 1].
func (m *Model) decodeRaw(lat []float32, w, h int) ([]float32, int, int) {
	z := make([]float32, len(lat))
	for i, v := range lat {
		z[i] = v / m.VAE.Scale
	}
	out, shapes := bindings.MustCompute(m.Backend(), func(ctx ml.Context) []ml.Tensor {
		return []ml.Tensor{m.VAE.Decode(ctx, ctx.Input().FromFloats(z, w, h, m.VAE.ZChannels, 1))}
	})
	return out[0], shapes[0][0], shapes[0][1]
}

// tileStarts places tiles of size t with overlap o over n positions, the
// last flush with the end.
func tileStarts(n, t, o int) []int {
	if n <= t {
		return []int{0}
	}
	var s []int
	for p := 0; ; p += t - o {
		if p+t >= n {
			s = append(s, n-t)
			break
		}
		s = append(s, p)
	}
	return s
}

// DecodeTiled decodes latents [w, h, Z] in tiles of tile×tile latents
// overlapping by overlap, blending the seams; it returns planar RGB.
func (m *Model) DecodeTiled(lat []float32, w, h, tile, overlap int) ([]float32, int, int) {
	z := m.VAE.ZChannels
	f := m.VAE.Factor()
	W, H := w*f, h*f
	acc := make([]float64, 3*W*H)
	wsum := make([]float64, W*H)
	xs, ys := tileStarts(w, tile, overlap), tileStarts(h, tile, overlap)
	for _, y0 := range ys {
		for _, x0 := range xs {
			tw, th := min(tile, w), min(tile, h)
			sub := make([]float32, tw*th*z)
			for c := range z {
				for y := range th {
					copy(sub[(c*th+y)*tw:(c*th+y+1)*tw], lat[(c*h+y0+y)*w+x0:(c*h+y0+y)*w+x0+tw])
				}
			}
			px, pw, ph := m.decodeRaw(sub, tw, th)
			rampX := ramp(pw, overlap*f, x0 > 0, x0+tw < w)
			rampY := ramp(ph, overlap*f, y0 > 0, y0+th < h)
			for y := range ph {
				for x := range pw {
					wt := rampX[x] * rampY[y]
					o := (y0*f+y)*W + x0*f + x
					wsum[o] += wt
					for c := range 3 {
						acc[c*W*H+o] += wt * float64(px[(c*ph+y)*pw+x])
					}
				}
			}
		}
	}
	out := make([]float32, len(acc))
	for c := range 3 {
		for i, s := range wsum {
			out[c*W*H+i] = float32(acc[c*W*H+i] / s)
		}
	}
	return out, W, H
}

// ramp is a tile's blending weight along one axis of n pixels: rising over
// the first ov pixels when a neighbour precedes, falling over the last ov
// when one follows, 1 elsewhere (never 0, so every pixel is covered).
func ramp(n, ov int, before, after bool) []float64 {
	r := make([]float64, n)
	for i := range r {
		r[i] = 1
		if before && i < ov {
			r[i] = min(r[i], (float64(i)+0.5)/float64(ov))
		}
		if after && n-1-i < ov {
			r[i] = min(r[i], (float64(n-1-i)+0.5)/float64(ov))
		}
	}
	return r
}

// DecodeLatents decodes latents [w, h, Z] (scaled) to an image, in tiles
// when either side exceeds TileLatents.
func (m *Model) DecodeLatents(lat []float32, w, h int) *image.NRGBA {
	var px []float32
	var W, H int
	if w > TileLatents || h > TileLatents {
		px, W, H = m.DecodeTiled(lat, w, h, TileLatents, TileOverlap)
	} else {
		px, W, H = m.decodeRaw(lat, w, h)
	}
	return ToImage(px, W, H)
}
