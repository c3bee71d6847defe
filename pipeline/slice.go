package pipeline

import (
	"image"
	"image/color"
	"image/draw"
)

// ObjectSlice is the transmitter's object slice i_m (paper eq. 1): the main
// object of a segmentation, cut out of the image.
//
// Rule (MainObject): the main object is the largest 8-connected region of
// pixels that share one non-background class (label ≠ 0). Ties in pixel
// count go to the region whose class covers more pixels in the whole mask,
// then to the lower class index, then to the region met first in raster
// order. The slice is the region's bounding box cut from the image; pixels
// of the box outside the region become opaque black (the background the
// receiver's IP-Adapter sees). When no pixel is labelled (all background),
// Found is false, Box is empty and Image is nil: the transmitter sends no
// slice.
type ObjectSlice struct {
	Found bool            `json:"found"`
	Class int             `json:"class"`
	Label string          `json:"label,omitempty"`
	Box   image.Rectangle `json:"-"`
	Area  int             `json:"area"` // pixels of the region
	// BoxXYXY is Box as [x0, y0, x1, y1] (x1, y1 exclusive) for JSON.
	BoxXYXY [4]int      `json:"box"`
	Image   *image.RGBA `json:"-"` // Box's pixels, origin (0, 0); nil when !Found
}

// SliceBackground is the colour of slice pixels outside the object.
var SliceBackground = color.RGBA{0, 0, 0, 255}

// MainObject finds the main object in a w×h label mask (row-major class
// indices, 0 = background) and cuts its slice out of img, whose bounds must
// be w×h (img may be nil: then Image stays nil). names labels the classes
// (optional).
func MainObject(labels []uint8, w, h int, img image.Image, names []string) ObjectSlice {
	if w <= 0 || h <= 0 || len(labels) != w*h {
		return ObjectSlice{}
	}
	var classArea [256]int
	for _, l := range labels {
		classArea[l]++
	}
	comp := make([]int32, w*h) // 0 = not visited
	var best struct {
		id, area, class int
		box             image.Rectangle
	}
	var stack []int
	next := int32(0)
	for start, l := range labels {
		if l == 0 || comp[start] != 0 {
			continue
		}
		next++
		area, box := 0, image.Rect(start%w, start/w, start%w+1, start/w+1)
		stack = append(stack[:0], start)
		comp[start] = next
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			area++
			x, y := p%w, p/w
			box = box.Union(image.Rect(x, y, x+1, y+1))
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					nx, ny := x+dx, y+dy
					if nx < 0 || ny < 0 || nx >= w || ny >= h {
						continue
					}
					q := ny*w + nx
					if comp[q] == 0 && labels[q] == l {
						comp[q] = next
						stack = append(stack, q)
					}
				}
			}
		}
		c := int(l)
		better := best.id == 0 || area > best.area ||
			area == best.area && (classArea[c] > classArea[best.class] ||
				classArea[c] == classArea[best.class] && c < best.class)
		if better {
			best.id, best.area, best.class, best.box = int(next), area, c, box
		}
	}
	if best.id == 0 {
		return ObjectSlice{}
	}
	s := ObjectSlice{Found: true, Class: best.class, Box: best.box, Area: best.area,
		BoxXYXY: [4]int{best.box.Min.X, best.box.Min.Y, best.box.Max.X, best.box.Max.Y}}
	if best.class < len(names) {
		s.Label = names[best.class]
	}
	if img != nil {
		s.Image = image.NewRGBA(image.Rect(0, 0, best.box.Dx(), best.box.Dy()))
		o := img.Bounds().Min
		for y := best.box.Min.Y; y < best.box.Max.Y; y++ {
			for x := best.box.Min.X; x < best.box.Max.X; x++ {
				c := color.Color(SliceBackground)
				if comp[y*w+x] == int32(best.id) {
					c = img.At(o.X+x, o.Y+y)
				}
				s.Image.Set(x-best.box.Min.X, y-best.box.Min.Y, c)
			}
		}
	}
	return s
}

// MaskOverlay draws a label mask over an image for inspection: each
// non-background class in its own colour at 50% opacity.
func MaskOverlay(img image.Image, labels []uint8) *image.RGBA {
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Bounds(), img, b.Min, draw.Src)
	for i, l := range labels {
		if l == 0 || i >= b.Dx()*b.Dy() {
			continue
		}
		x, y := i%b.Dx(), i/b.Dx()
		p := out.RGBAAt(x, y)
		c := Palette(int(l))
		out.SetRGBA(x, y, color.RGBA{mid(p.R, c.R), mid(p.G, c.G), mid(p.B, c.B), 255})
	}
	return out
}

// Palette is the colour of class l in masks and overlays: Pascal VOC's
// colour map (bit-interleaved label index), black for background.
func Palette(l int) color.RGBA {
	var r, g, b uint8
	for i := 0; i < 8; i++ {
		r |= uint8((l>>0)&1) << (7 - i)
		g |= uint8((l>>1)&1) << (7 - i)
		b |= uint8((l>>2)&1) << (7 - i)
		l >>= 3
	}
	return color.RGBA{r, g, b, 255}
}

// MaskImage renders a label mask as a paletted PNG-ready image (VOC colours,
// pixel value = class index).
func MaskImage(labels []uint8, w, h int) *image.Paletted {
	pal := make(color.Palette, 256)
	for i := range pal {
		pal[i] = Palette(i)
	}
	m := image.NewPaletted(image.Rect(0, 0, w, h), pal)
	copy(m.Pix, labels)
	return m
}

// mid is the mean of two channel values, rounded down.
func mid(a, b uint8) uint8 { return uint8((uint16(a) + uint16(b)) / 2) }
