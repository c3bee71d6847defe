package bindings

import "image"

// PlanarRGB converts an image to ggml's [W, H, 3, 1] layout (PyTorch's
// [1, 3, H, W]): planar RGB, values in [0, 1] (8-bit precision, alpha
// ignored).
func PlanarRGB(img image.Image) []float32 {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := make([]float32, 3*w*h)
	for y := range h {
		for x := range w {
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			i := y*w + x
			out[i] = float32(r>>8) / 255
			out[w*h+i] = float32(g>>8) / 255
			out[2*w*h+i] = float32(bl>>8) / 255
		}
	}
	return out
}
