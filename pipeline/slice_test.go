package pipeline

import (
	"image"
	"image/color"
	"testing"
)

// maskOf parses a hand-drawn mask: one string per row, '.' = background,
// digits = class index.
func maskOf(rows ...string) ([]uint8, int, int) {
	w, h := len(rows[0]), len(rows)
	out := make([]uint8, 0, w*h)
	for _, r := range rows {
		for _, c := range r {
			if c == '.' {
				out = append(out, 0)
			} else {
				out = append(out, uint8(c-'0'))
			}
		}
	}
	return out, w, h
}

func TestMainObject(t *testing.T) {
	cases := []struct {
		name  string
		rows  []string
		found bool
		class int
		box   image.Rectangle
		area  int
	}{
		{"all background", []string{"....", "...."}, false, 0, image.Rectangle{}, 0},
		{"one pixel", []string{"....", "..3."}, true, 3, image.Rect(2, 1, 3, 2), 1},
		{"largest region wins over larger class total", []string{
			"11.22",
			"11.22",
			"...22",
			"1....",
			"1..1.",
		}, true, 2, image.Rect(3, 0, 5, 3), 6},
		{"diagonal pixels are connected (8-connectivity)", []string{
			"1...",
			".1..",
			"..1.",
			"....",
			"22..",
		}, true, 1, image.Rect(0, 0, 3, 3), 3},
		{"tie in area: class with more pixels overall", []string{
			"11.22.",
			"......",
			"....2.",
		}, true, 2, image.Rect(3, 0, 5, 1), 2},
		{"tie in area and class total: lower class", []string{
			"33.22",
		}, true, 2, image.Rect(3, 0, 5, 1), 2},
		{"same class, two regions: first in raster order", []string{
			"5..5",
			"5..5",
		}, true, 5, image.Rect(0, 0, 1, 2), 2},
		{"different classes touching are separate regions", []string{
			"1112",
			"1222",
			"..22",
		}, true, 2, image.Rect(1, 0, 4, 3), 6},
	}
	names := []string{"bg", "a", "b", "c", "d", "e"}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			labels, w, h := maskOf(c.rows...)
			s := MainObject(labels, w, h, nil, names)
			if s.Found != c.found || s.Class != c.class || s.Box != c.box || s.Area != c.area {
				t.Fatalf("got found=%v class=%d box=%v area=%d; want %v %d %v %d", s.Found, s.Class, s.Box, s.Area, c.found, c.class, c.box, c.area)
			}
			if c.found && s.Label != names[c.class] {
				t.Fatalf("label %q", s.Label)
			}
			if !c.found && s.Image != nil {
				t.Fatal("no object but an image")
			}
		})
	}
}

// TestSliceImage: the slice is the region's box; pixels of the box outside
// the region are black, inside they are the image's.
func TestSliceImage(t *testing.T) {
	labels, w, h := maskOf(
		".....",
		".11..",
		".1...",
		"...2.",
	)
	img := image.NewRGBA(image.Rect(10, 20, 10+w, 20+h)) // non-zero origin
	for y := range h {
		for x := range w {
			img.Set(10+x, 20+y, color.RGBA{uint8(10 * x), uint8(10 * y), 200, 255})
		}
	}
	s := MainObject(labels, w, h, img, nil)
	if !s.Found || s.Class != 1 || s.Image == nil || s.Image.Bounds() != image.Rect(0, 0, 2, 2) {
		t.Fatalf("slice %+v", s)
	}
	want := [2][2]color.RGBA{
		{{10, 10, 200, 255}, {20, 10, 200, 255}},
		{{10, 20, 200, 255}, SliceBackground},
	}
	for y := range 2 {
		for x := range 2 {
			if got := s.Image.RGBAAt(x, y); got != want[y][x] {
				t.Errorf("pixel (%d,%d) = %v, want %v", x, y, got, want[y][x])
			}
		}
	}
}

func TestMainObjectBadMask(t *testing.T) {
	if s := MainObject([]uint8{1, 2, 3}, 2, 2, nil, nil); s.Found {
		t.Fatal("a mask of the wrong length found an object")
	}
	if s := MainObject(nil, 0, 0, nil, nil); s.Found {
		t.Fatal("an empty mask found an object")
	}
}

func TestPaletteAndMaskImage(t *testing.T) {
	// VOC colour map: 1 = (128,0,0), 2 = (0,128,0), 15 (person) = (192,128,128).
	cases := map[int]color.RGBA{0: {0, 0, 0, 255}, 1: {128, 0, 0, 255}, 2: {0, 128, 0, 255}, 15: {192, 128, 128, 255}}
	for l, want := range cases {
		if got := Palette(l); got != want {
			t.Errorf("Palette(%d) = %v, want %v", l, got, want)
		}
	}
	labels, w, h := maskOf(".1", "2.")
	m := MaskImage(labels, w, h)
	if m.ColorIndexAt(1, 0) != 1 || m.ColorIndexAt(0, 1) != 2 || m.ColorIndexAt(0, 0) != 0 {
		t.Fatal("mask image indices differ from the labels")
	}
	ov := MaskOverlay(image.NewRGBA(image.Rect(0, 0, 2, 2)), labels)
	if got := ov.RGBAAt(1, 0); got != (color.RGBA{64, 0, 0, 255}) {
		t.Fatalf("overlay pixel %v", got)
	}
}
