package main

import (
	"image"
	"math"

	"golang.org/x/image/draw"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/models/lpips"
)

// defaultLPIPSPixels bounds the image size LPIPS runs at: the graph's
// buffers (AlexNet's im2col above all) grow with the pixel count, so larger
// images are downscaled to fit (--lpips-max-pixels raises the bound). A
// whole `metrics --lpips` run on a 1024x1024 pair with the full-size model
// peaked at 296 MB resident on CPU.
const defaultLPIPSPixels = 1 << 20

// lpipsDistance scores two equally sized images with the LPIPS model file at
// path (models/lpips), on the --device and --threads of env. Images of more
// than maxPixels pixels are downscaled (Catmull-Rom, aspect kept) to fit;
// size is the size scored. A non-finite distance is an error naming the
// model file.
func lpipsDistance(env *Env, path string, ref, img image.Image, maxPixels int64) (d float64, size image.Point, err error) {
	m, err := lpips.Open(path, bindings.Options{Device: env.Device, Threads: env.Threads})
	if err != nil {
		return 0, size, err
	}
	defer m.Close()
	ref, img = fitPixels(ref, maxPixels), fitPixels(img, maxPixels)
	size = ref.Bounds().Size()
	d, err = m.Distance(ref, img)
	if err != nil {
		return 0, size, outputError("--lpips "+path+":", err)
	}
	if math.IsNaN(d) || math.IsInf(d, 0) {
		return 0, size, badInput("--lpips %s: the model gives a non-finite distance (%v); its weights are not usable", path, d)
	}
	return d, size, nil
}

// fitPixels downscales img, keeping its aspect ratio, to at most maxPixels
// pixels; smaller images are returned as they are.
func fitPixels(img image.Image, maxPixels int64) image.Image {
	s := img.Bounds().Size()
	n := int64(s.X) * int64(s.Y)
	if n <= maxPixels {
		return img
	}
	f := math.Sqrt(float64(maxPixels) / float64(n))
	w, h := max(int(float64(s.X)*f), 1), max(int(float64(s.Y)*f), 1)
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(out, out.Bounds(), img, img.Bounds(), draw.Src, nil)
	return out
}
