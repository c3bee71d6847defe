package metrics

import (
	"image"
	"image/color"

	"github.com/multisc/multisc/bindings/badinput"
)

// rgbPlanes holds an image as three float64 planes of 8-bit values (0–255),
// row-major: what scikit-image sees after reading an 8-bit RGB file.
type rgbPlanes struct {
	w, h int
	c    [3][]float64
}

// toPlanes converts img to 8-bit RGB planes. Alpha is dropped (straight, not
// premultiplied, colour is kept, as when a reader returns RGBA and the caller
// takes the first three channels), grey is repeated in all three channels,
// 16-bit samples keep their high byte.
func toPlanes(img image.Image) rgbPlanes {
	b := img.Bounds()
	p := rgbPlanes{w: b.Dx(), h: b.Dy()}
	n := p.w * p.h
	for k := range p.c {
		p.c[k] = make([]float64, n)
	}
	i := 0
	switch m := img.(type) {
	case *image.NRGBA:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, y):]
			for x := 0; x < p.w; x, i = x+1, i+1 {
				p.c[0][i], p.c[1][i], p.c[2][i] = float64(row[4*x]), float64(row[4*x+1]), float64(row[4*x+2])
			}
		}
	case *image.RGBA:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, y):]
			for x := 0; x < p.w; x, i = x+1, i+1 {
				px := row[4*x : 4*x+4 : 4*x+4]
				if px[3] == 0xff {
					p.c[0][i], p.c[1][i], p.c[2][i] = float64(px[0]), float64(px[1]), float64(px[2])
					continue
				}
				c := color.NRGBAModel.Convert(color.RGBA{px[0], px[1], px[2], px[3]}).(color.NRGBA)
				p.c[0][i], p.c[1][i], p.c[2][i] = float64(c.R), float64(c.G), float64(c.B)
			}
		}
	case *image.YCbCr: // what image/jpeg returns for colour JPEGs
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x, i = x+1, i+1 {
				yi, ci := m.YOffset(x, y), m.COffset(x, y)
				r, g, bl := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				p.c[0][i], p.c[1][i], p.c[2][i] = float64(r), float64(g), float64(bl)
			}
		}
	case *image.Gray:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, y):]
			for x := 0; x < p.w; x, i = x+1, i+1 {
				v := float64(row[x])
				p.c[0][i], p.c[1][i], p.c[2][i] = v, v, v
			}
		}
	default:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x, i = x+1, i+1 {
				c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
				p.c[0][i], p.c[1][i], p.c[2][i] = float64(c.R), float64(c.G), float64(c.B)
			}
		}
	}
	return p
}

// sameSize rejects pairs of different sizes, naming both.
func sameSize(ref, img image.Image) error {
	r, g := ref.Bounds().Size(), img.Bounds().Size()
	if r != g {
		return badinput.Errorf("image sizes differ: reference is %dx%d, image is %dx%d", r.X, r.Y, g.X, g.Y)
	}
	if r.X == 0 || r.Y == 0 {
		return badinput.Errorf("empty image (%dx%d)", r.X, r.Y)
	}
	return nil
}
