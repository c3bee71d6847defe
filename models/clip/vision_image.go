package clip

import (
	"image"
	"math"
)

// VisionPadColor is LLaVA's background for expand-to-square: the image mean
// as 8-bit RGB (int(m·255) per channel, LLaVA's conversation.py/mm_utils.py;
// (122, 116, 104) for CLIP).
func (o *VisionOptions) VisionPadColor() [3]uint8 {
	var c [3]uint8
	for i, m := range o.Mean {
		c[i] = uint8(math.Max(0, math.Min(255, float64(int(m*255)))))
	}
	return c
}

// Preprocess turns an image into the tower's input, planar [S, S, 3] in
// ggml order (PyTorch [3, S, S]), as llama.cpp does for the mlp projectors:
// the image is scaled (bilinear) to fit an S×S square keeping its aspect
// ratio, centered on a background of VisionPadColor (LLaVA's
// expand-to-square), then normalized per channel: (v/255 − mean)/std.
func (o *VisionOptions) Preprocess(img image.Image) []float32 {
	s := o.ImageSize
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	// 8-bit RGB source, row-major.
	src := make([]float32, 3*w*h)
	for y := range h {
		for x := range w {
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			i := 3 * (y*w + x)
			src[i], src[i+1], src[i+2] = float32(r>>8), float32(g>>8), float32(bl>>8)
		}
	}
	// Fit inside s×s.
	nw, nh := s, s
	if w > h {
		nh = max(1, int(math.Round(float64(h)*float64(s)/float64(w))))
	} else if h > w {
		nw = max(1, int(math.Round(float64(w)*float64(s)/float64(h))))
	}
	ox, oy := (s-nw)/2, (s-nh)/2
	pad := o.VisionPadColor()
	out := make([]float32, 3*s*s)
	sx, sy := float64(w)/float64(nw), float64(h)/float64(nh)
	for y := range s {
		for x := range s {
			var px [3]float32
			if x < ox || x >= ox+nw || y < oy || y >= oy+nh {
				px = [3]float32{float32(pad[0]), float32(pad[1]), float32(pad[2])}
			} else {
				// Half-pixel centres, edge clamped.
				fx := math.Max(0, (float64(x-ox)+0.5)*sx-0.5)
				fy := math.Max(0, (float64(y-oy)+0.5)*sy-0.5)
				x0, y0 := min(int(fx), w-1), min(int(fy), h-1)
				x1, y1 := min(x0+1, w-1), min(y0+1, h-1)
				ax, ay := float32(fx-float64(x0)), float32(fy-float64(y0))
				for c := range 3 {
					p00, p01 := src[3*(y0*w+x0)+c], src[3*(y0*w+x1)+c]
					p10, p11 := src[3*(y1*w+x0)+c], src[3*(y1*w+x1)+c]
					top := p00 + (p01-p00)*ax
					bot := p10 + (p11-p10)*ax
					// Round to 8 bits, as the resized image is 8-bit in llama.cpp.
					px[c] = float32(math.Round(float64(top + (bot-top)*ay)))
				}
			}
			for c := range 3 {
				out[c*s*s+y*s+x] = (px[c]/255 - o.Mean[c]) / o.Std[c]
			}
		}
	}
	return out
}
