package metrics

import (
	"image"
	"math"
)

// PSNR is the peak signal-to-noise ratio in dB of img against ref over all
// RGB samples with data range 255, as scikit-image's
// peak_signal_noise_ratio(ref, img, data_range=255) on uint8 RGB arrays.
// Identical images give +Inf.
func PSNR(ref, img image.Image) (float64, error) {
	if err := sameSize(ref, img); err != nil {
		return 0, err
	}
	a, b := toPlanes(ref), toPlanes(img)
	// Squared 8-bit differences are integers; their sum is exact in int64,
	// so the MSE is exact up to the one division.
	var sse int64
	for k := range a.c {
		for i, v := range a.c[k] {
			d := int64(v - b.c[k][i])
			sse += d * d
		}
	}
	mse := float64(sse) / float64(3*a.w*a.h)
	return 10 * math.Log10(255*255/mse), nil
}
