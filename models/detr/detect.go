package detr

import (
	"fmt"
	"image"
	"math"
	"sort"

	"github.com/ollama/ollama/ml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/models/resnet"
)

// Detection is one detected object.
type Detection struct {
	Class int        `json:"class"`
	Label string     `json:"label"`
	Score float32    `json:"score"`
	Box   [4]float32 `json:"box"` // x0, y0, x1, y1 in pixels of the original image
}

// Rect is the detection's box as integer pixels: x0, y0 rounded down, x1,
// y1 rounded up.
func (d Detection) Rect() image.Rectangle {
	return image.Rect(int(math.Floor(float64(d.Box[0]))), int(math.Floor(float64(d.Box[1]))),
		int(math.Ceil(float64(d.Box[2]))), int(math.Ceil(float64(d.Box[3]))))
}

// ResizedSize is the size DETR's evaluation transform (and the hub's
// DetrImageProcessor) gives a w×h image: the shorter side becomes short,
// unless the longer side would then exceed max, in which case short is
// lowered to round(max·shorter/longer); the other side is truncated
// proportionally. short ≤ 0 keeps the native size.
func ResizedSize(w, h, short, maxSize int) (int, int) {
	if short <= 0 || w <= 0 || h <= 0 {
		return w, h
	}
	size := short
	if maxSize > 0 {
		lo, hi := float64(min(w, h)), float64(max(w, h))
		if hi/lo*float64(size) > float64(maxSize) {
			size = int(math.Round(float64(maxSize) * lo / hi))
		}
	}
	if (w <= h && w == size) || (h <= w && h == size) {
		return w, h
	}
	if w < h {
		return size, int(float64(size) * float64(h) / float64(w))
	}
	return int(float64(size) * float64(w) / float64(h)), size
}

// Detect runs the model on each image separately (a batch of one, so a
// result never depends on the other images): normalize with ImageNet's
// mean/std, resize in the graph to ResizedSize(Shape.Resize) — bilinear,
// align_corners=False, without the antialiasing PIL's resize applies when
// shrinking — or keep the native size when resize is false, then
// PostProcess with the score threshold.
func (m *Model) Detect(imgs []image.Image, threshold float32, resize bool) ([][]Detection, error) {
	var out [][]Detection
	for _, img := range imgs {
		b := img.Bounds()
		w, h := b.Dx(), b.Dy()
		if w < 1 || h < 1 {
			return nil, fmt.Errorf("image is %dx%d", w, h)
		}
		rw, rh := w, h
		if resize {
			rw, rh = ResizedSize(w, h, m.Shape.Resize[0], m.Shape.Resize[1])
		}
		in := resnet.Normalize(img)
		vals, shapes, err := bindings.Compute(m.Backend(), func(ctx ml.Context) []ml.Tensor {
			x := ctx.Input().FromFloats(in, w, h, 3, 1)
			if rw != w || rh != h {
				x = x.Interpolate(ctx, [4]int{rw, rh, 3, 1}, ml.SamplingModeBilinear)
			}
			logits, boxes := m.Heads(ctx, x, [][2]int{{rh, rw}})
			return []ml.Tensor{logits, boxes}
		})
		if err != nil {
			return nil, err
		}
		out = append(out, PostProcess(vals[0], vals[1], shapes[0][0], shapes[0][1], w, h, threshold, m.Shape.Labels)[0])
	}
	return out, nil
}

// PostProcess turns logits [classes+1, Q, N] and boxes [4, Q, N] (ggml
// order) into detections per image, as DETR's PostProcess: softmax over
// the classes and no-object, score and label = max and argmax over the
// real classes, boxes from (cx, cy, w, h) relative to the image to
// (x0, y0, x1, y1) pixels of a w×h image; then only scores above threshold,
// highest first.
func PostProcess(logits, boxes []float32, nc, q, w, h int, threshold float32, labels []string) [][]Detection {
	n := len(logits) / (nc * q)
	out := make([][]Detection, n)
	for i := range n {
		out[i] = []Detection{}
		for j := range q {
			row := logits[(i*q+j)*nc : (i*q+j+1)*nc]
			mx := math.Inf(-1)
			for _, v := range row {
				mx = math.Max(mx, float64(v))
			}
			sum := 0.0
			for _, v := range row {
				sum += math.Exp(float64(v) - mx)
			}
			best, bi := -1.0, 0
			for c, v := range row[:nc-1] {
				if p := math.Exp(float64(v)-mx) / sum; p > best {
					best, bi = p, c
				}
			}
			if float32(best) <= threshold {
				continue
			}
			bx := boxes[(i*q+j)*4 : (i*q+j+1)*4]
			cx, cy, bw, bh := bx[0], bx[1], bx[2], bx[3]
			d := Detection{Class: bi, Score: float32(best), Box: [4]float32{
				(cx - bw/2) * float32(w), (cy - bh/2) * float32(h), (cx + bw/2) * float32(w), (cy + bh/2) * float32(h)}}
			if bi < len(labels) {
				d.Label = labels[bi]
			}
			out[i] = append(out[i], d)
		}
		sort.SliceStable(out[i], func(a, b int) bool { return out[i][a].Score > out[i][b].Score })
	}
	return out
}
