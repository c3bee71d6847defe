package pipeline

import (
	"fmt"
	"image"
	"testing"
)

func TestFusionSplit(t *testing.T) {
	bounds := image.Rect(0, 0, 300, 400) // diagonal 500
	r := image.Rect
	cases := []struct {
		name    string
		boxes   []image.Rectangle
		eps     float64
		minSize int
		want    string // blocks as "box members"
	}{
		{"nothing detected: whole image", nil, 0.1, 0, "[{(0,0)-(300,400) []}]"},
		{"only boxes outside the image: whole image", []image.Rectangle{r(400, 0, 450, 50)}, 0.1, 0, "[{(0,0)-(300,400) []}]"},
		{"one box", []image.Rectangle{r(10, 10, 50, 60)}, 0.1, 0, "[{(10,10)-(50,60) [0]}]"},
		{"centres 40 apart, eps·diag 50: fused", []image.Rectangle{r(0, 0, 20, 20), r(40, 0, 60, 20)}, 0.1, 0, "[{(0,0)-(60,20) [0 1]}]"},
		{"centres 60 apart, eps·diag 50: separate", []image.Rectangle{r(0, 0, 20, 20), r(60, 0, 80, 20)}, 0.1, 0, "[{(0,0)-(20,20) [0]} {(60,0)-(80,20) [1]}]"},
		{"distance equal to eps·diag is not below it", []image.Rectangle{r(0, 0, 20, 20), r(50, 0, 70, 20)}, 0.1, 0, "[{(0,0)-(20,20) [0]} {(50,0)-(70,20) [1]}]"},
		{"transitive chain A-B-C fuses A and C", []image.Rectangle{r(0, 0, 20, 20), r(40, 0, 60, 20), r(80, 0, 100, 20)}, 0.1, 0, "[{(0,0)-(100,20) [0 1 2]}]"},
		{"two groups, order by first member", []image.Rectangle{r(200, 300, 220, 320), r(0, 0, 20, 20), r(210, 310, 240, 330), r(10, 10, 30, 30)}, 0.1, 0, "[{(200,300)-(240,330) [0 2]} {(0,0)-(30,30) [1 3]}]"},
		{"box clipped to the image", []image.Rectangle{r(-10, 380, 40, 420)}, 0.1, 0, "[{(0,380)-(40,400) [0]}]"},
		{"small block grown to minSize around its centre", []image.Rectangle{r(100, 100, 110, 104)}, 0.1, 32, "[{(89,86)-(121,118) [0]}]"},
		{"grown block shifted inside the image", []image.Rectangle{r(0, 395, 4, 400)}, 0.1, 32, "[{(0,368)-(32,400) [0]}]"},
		{"minSize larger than the image is capped", []image.Rectangle{r(0, 0, 4, 4)}, 0.1, 1000, "[{(0,0)-(300,400) [0]}]"},
		{"reversed box is canonicalised", []image.Rectangle{{Min: image.Pt(50, 60), Max: image.Pt(10, 10)}}, 0.1, 0, "[{(10,10)-(50,60) [0]}]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			blocks, err := FusionSplit(bounds, c.boxes, c.eps, c.minSize)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, b := range blocks {
				got = append(got, fmt.Sprintf("{%v %v}", b.Rect, b.Members))
				if b.XYXY != [4]int{b.Rect.Min.X, b.Rect.Min.Y, b.Rect.Max.X, b.Rect.Max.Y} {
					t.Fatalf("XYXY %v disagrees with %v", b.XYXY, b.Rect)
				}
			}
			if s := fmt.Sprint(got); s != c.want {
				t.Fatalf("blocks %s\nwant   %s", s, c.want)
			}
		})
	}
}

func TestSplitRejects(t *testing.T) {
	b := image.Rect(0, 0, 10, 10)
	cases := []struct {
		name string
		err  error
	}{
		{"eps 0", func() error { _, err := FusionSplit(b, nil, 0, 0); return err }()},
		{"eps negative", func() error { _, err := FusionSplit(b, nil, -0.1, 0); return err }()},
		{"minSize negative", func() error { _, err := FusionSplit(b, nil, 0.1, -1); return err }()},
		{"empty image", func() error { _, err := FusionSplit(image.Rectangle{}, nil, 0.1, 0); return err }()},
		{"n 0", func() error { _, err := RandomSplit(b, 0, 1, 0); return err }()},
		{"random on empty image", func() error { _, err := RandomSplit(image.Rectangle{}, 2, 1, 0); return err }()},
	}
	for _, c := range cases {
		if c.err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

// TestRandomSplit: the blocks tile the image exactly (areas add up, no
// overlap), there are n of them when the image allows it, every block
// respects minSize, and the same seed gives the same blocks.
func TestRandomSplit(t *testing.T) {
	cases := []struct {
		name       string
		bounds     image.Rectangle
		n, minSize int
		seed       uint64
		wantN      int
	}{
		{"one block is the image", image.Rect(0, 0, 64, 48), 1, 8, 1, 1},
		{"four blocks", image.Rect(0, 0, 640, 480), 4, 32, 7, 4},
		{"many blocks, offset origin", image.Rect(5, 7, 105, 57), 9, 4, 3, 9},
		{"image too small for n: stops early", image.Rect(0, 0, 40, 20), 10, 16, 1, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			blocks, err := RandomSplit(c.bounds, c.n, c.seed, c.minSize)
			if err != nil {
				t.Fatal(err)
			}
			if len(blocks) != c.wantN {
				t.Fatalf("%d blocks, want %d", len(blocks), c.wantN)
			}
			area := 0
			for i, b := range blocks {
				if !b.Rect.In(c.bounds) || b.Rect.Dx() < c.minSize || b.Rect.Dy() < c.minSize {
					t.Fatalf("block %v outside the image or under minSize", b.Rect)
				}
				area += b.Rect.Dx() * b.Rect.Dy()
				for _, o := range blocks[i+1:] {
					if b.Rect.Overlaps(o.Rect) {
						t.Fatalf("blocks %v and %v overlap", b.Rect, o.Rect)
					}
				}
			}
			if area != c.bounds.Dx()*c.bounds.Dy() {
				t.Fatalf("blocks cover %d pixels, want %d", area, c.bounds.Dx()*c.bounds.Dy())
			}
			again, _ := RandomSplit(c.bounds, c.n, c.seed, c.minSize)
			if fmt.Sprint(again) != fmt.Sprint(blocks) {
				t.Fatal("same seed, different blocks")
			}
		})
	}
	a, _ := RandomSplit(image.Rect(0, 0, 640, 480), 5, 1, 8)
	b, _ := RandomSplit(image.Rect(0, 0, 640, 480), 5, 2, 8)
	if fmt.Sprint(a) == fmt.Sprint(b) {
		t.Fatal("seeds 1 and 2 gave the same split")
	}
}

func TestDrawBoxesAndCrop(t *testing.T) {
	img := image.NewRGBA(image.Rect(10, 10, 30, 25)) // non-zero origin
	for i := range img.Pix {
		img.Pix[i] = 200
	}
	out := DrawBoxes(img, []image.Rectangle{image.Rect(2, 3, 8, 9)})
	if out.Bounds() != image.Rect(0, 0, 20, 15) {
		t.Fatalf("bounds %v", out.Bounds())
	}
	edge, inside, outside := out.RGBAAt(2, 5), out.RGBAAt(5, 6), out.RGBAAt(12, 12)
	if edge != Palette(1) || inside.R != 200 || outside.R != 200 {
		t.Fatalf("edge %v inside %v outside %v", edge, inside, outside)
	}
	img.Set(15, 13, Palette(3))
	c := Crop(img, image.Rect(5, 3, 9, 6))
	if c.Bounds() != image.Rect(0, 0, 4, 3) || c.RGBAAt(0, 0) != Palette(3) {
		t.Fatalf("crop %v, corner %v", c.Bounds(), c.RGBAAt(0, 0))
	}
}
