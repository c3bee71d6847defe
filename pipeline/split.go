package pipeline

import (
	"errors"
	"fmt"
	"image"
	"image/draw"
	"math"
	"math/rand/v2"
	"sort"
)

// Block is one block of a split image: a rectangle of it (in image
// coordinates, Max exclusive) and the indices of the detections fused into
// it (none for a random split or the whole-image fallback).
type Block struct {
	Rect    image.Rectangle `json:"-"`
	XYXY    [4]int          `json:"box"` // Rect as [x0, y0, x1, y1]
	Members []int           `json:"members,omitempty"`
}

func newBlock(r image.Rectangle, members []int) Block {
	return Block{Rect: r, XYXY: [4]int{r.Min.X, r.Min.Y, r.Max.X, r.Max.Y}, Members: members}
}

// FusionSplit is the feature-fusion split (paper eq. 2, 9). Boxes are the
// detections in image coordinates. Two boxes whose centres are closer than
// eps·diagonal of bounds (eps > 0, a fraction of the image diagonal) are
// fused, transitively (single linkage), and each group becomes one block:
// the union of its boxes, clipped to bounds, grown to at least minSize×minSize
// around its centre where smaller (and shifted to stay inside bounds; never
// beyond the image's own size). No boxes, or none that overlaps the image,
// gives one block: the whole image (the paper's Kodak24 case). Blocks are
// ordered by their first member.
func FusionSplit(bounds image.Rectangle, boxes []image.Rectangle, eps float64, minSize int) ([]Block, error) {
	if !(eps > 0) || math.IsInf(eps, 0) {
		return nil, fmt.Errorf("eps %v: want a positive fraction of the image diagonal", eps)
	}
	if minSize < 0 {
		return nil, fmt.Errorf("minimum block size %d is negative", minSize)
	}
	if bounds.Empty() {
		return nil, errors.New("the image is empty")
	}
	var idx []int // boxes that overlap the image
	for i, b := range boxes {
		if !b.Canon().Intersect(bounds).Empty() {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return []Block{newBlock(bounds, nil)}, nil
	}
	diag := math.Hypot(float64(bounds.Dx()), float64(bounds.Dy()))
	parent := make([]int, len(boxes))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	centre := func(r image.Rectangle) (float64, float64) {
		r = r.Canon()
		return float64(r.Min.X+r.Max.X) / 2, float64(r.Min.Y+r.Max.Y) / 2
	}
	for a := range idx {
		for b := a + 1; b < len(idx); b++ {
			ax, ay := centre(boxes[idx[a]])
			bx, by := centre(boxes[idx[b]])
			if math.Hypot(ax-bx, ay-by) < eps*diag {
				ra, rb := find(idx[a]), find(idx[b])
				if ra != rb {
					parent[max(ra, rb)] = min(ra, rb)
				}
			}
		}
	}
	groups := map[int][]int{}
	var roots []int
	for _, i := range idx {
		r := find(i)
		if _, ok := groups[r]; !ok {
			roots = append(roots, r)
		}
		groups[r] = append(groups[r], i)
	}
	sort.Ints(roots)
	var out []Block
	for _, r := range roots {
		var u image.Rectangle
		for _, i := range groups[r] {
			u = u.Union(boxes[i].Canon())
		}
		out = append(out, newBlock(grow(u.Intersect(bounds), bounds, minSize), groups[r]))
	}
	return out, nil
}

// grow enlarges r to at least size×size (each side capped at the bounds'
// own size) around its centre, shifted to lie inside bounds.
func grow(r, bounds image.Rectangle, size int) image.Rectangle {
	fit := func(lo, hi, blo, bhi int) (int, int) {
		want := min(size, bhi-blo)
		if hi-lo >= want {
			return lo, hi
		}
		c2 := lo + hi // twice the centre
		lo = (c2 - want) / 2
		hi = lo + want
		if lo < blo {
			lo, hi = blo, blo+want
		}
		if hi > bhi {
			lo, hi = bhi-want, bhi
		}
		return lo, hi
	}
	x0, x1 := fit(r.Min.X, r.Max.X, bounds.Min.X, bounds.Max.X)
	y0, y1 := fit(r.Min.Y, r.Max.Y, bounds.Min.Y, bounds.Max.Y)
	return image.Rect(x0, y0, x1, y1)
}

// RandomSplit is the baseline random split: a seeded random partition of
// bounds into n rectangular blocks that tile it exactly. Starting from the
// whole image, it repeatedly picks one of the blocks that can still be cut
// (both halves at least minSize along the cut side; minSize < 1 counts as
// 1), uniformly at random, and cuts it across its longer side (the other
// side if only that one can be cut) at a uniformly random position. When no
// block can be cut any more it stops early, with fewer than n blocks. Blocks
// are returned in raster order of their top-left corners. The same seed
// gives the same blocks.
func RandomSplit(bounds image.Rectangle, n int, seed uint64, minSize int) ([]Block, error) {
	if n < 1 {
		return nil, fmt.Errorf("block count %d: want at least 1", n)
	}
	if bounds.Empty() {
		return nil, errors.New("the image is empty")
	}
	minSize = max(minSize, 1)
	rng := rand.New(rand.NewPCG(seed, 0x6d756c74697363)) // "multisc"
	rects := []image.Rectangle{bounds}
	for len(rects) < n {
		var cuttable []int
		for i, r := range rects {
			if r.Dx() >= 2*minSize || r.Dy() >= 2*minSize {
				cuttable = append(cuttable, i)
			}
		}
		if len(cuttable) == 0 {
			break
		}
		i := cuttable[rng.IntN(len(cuttable))]
		r := rects[i]
		alongX := r.Dx() >= r.Dy()
		if alongX && r.Dx() < 2*minSize || !alongX && r.Dy() < 2*minSize {
			alongX = !alongX
		}
		var a, b image.Rectangle
		if alongX {
			cut := r.Min.X + minSize + rng.IntN(r.Dx()-2*minSize+1)
			a, b = image.Rect(r.Min.X, r.Min.Y, cut, r.Max.Y), image.Rect(cut, r.Min.Y, r.Max.X, r.Max.Y)
		} else {
			cut := r.Min.Y + minSize + rng.IntN(r.Dy()-2*minSize+1)
			a, b = image.Rect(r.Min.X, r.Min.Y, r.Max.X, cut), image.Rect(r.Min.X, cut, r.Max.X, r.Max.Y)
		}
		rects[i] = a
		rects = append(rects, b)
	}
	sort.Slice(rects, func(i, j int) bool {
		if rects[i].Min.Y != rects[j].Min.Y {
			return rects[i].Min.Y < rects[j].Min.Y
		}
		return rects[i].Min.X < rects[j].Min.X
	})
	out := make([]Block, len(rects))
	for i, r := range rects {
		out[i] = newBlock(r, nil)
	}
	return out, nil
}

// DrawBoxes draws rectangles (2-pixel outlines in Palette colours, one per
// index) over a copy of img, origin (0, 0); rectangles are in the image's
// coordinates relative to its bounds' origin.
func DrawBoxes(img image.Image, rects []image.Rectangle) *image.RGBA {
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Bounds(), img, b.Min, draw.Src)
	for i, r := range rects {
		c := Palette(i%255 + 1)
		r = r.Intersect(out.Bounds())
		if r.Empty() {
			continue
		}
		for t := range 2 {
			for x := r.Min.X; x < r.Max.X; x++ {
				out.SetRGBA(x, min(r.Min.Y+t, r.Max.Y-1), c)
				out.SetRGBA(x, max(r.Max.Y-1-t, r.Min.Y), c)
			}
			for y := r.Min.Y; y < r.Max.Y; y++ {
				out.SetRGBA(min(r.Min.X+t, r.Max.X-1), y, c)
				out.SetRGBA(max(r.Max.X-1-t, r.Min.X), y, c)
			}
		}
	}
	return out
}

// Crop copies rectangle r (relative to img's bounds' origin) of img into a
// new image with origin (0, 0).
func Crop(img image.Image, r image.Rectangle) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	draw.Draw(out, out.Bounds(), img, img.Bounds().Min.Add(r.Min), draw.Src)
	return out
}
