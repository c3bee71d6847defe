package metrics

import (
	"image"
	"math"
	"sync"

	"github.com/multisc/multisc/bindings/badinput"
)

// SSIM constants of Wang et al. 2004, as scikit-image's
// structural_similarity(gaussian_weights=True, sigma=1.5,
// use_sample_covariance=False, data_range=255, channel_axis=-1).
const (
	ssimSigma  = 1.5
	ssimK1     = 0.01
	ssimK2     = 0.03
	ssimRange  = 255.0
	ssimRadius = 5 // int(3.5·σ + 0.5): scikit-image truncates the Gaussian at 3.5σ
	// SSIMWindow is the Gaussian window side (11); images must be at least
	// this large in both directions, as scikit-image requires.
	SSIMWindow = 2*ssimRadius + 1
)

// ssimKernel is the normalised 11-tap Gaussian, built as scipy.ndimage does.
var ssimKernel = func() (k [SSIMWindow]float64) {
	sum := 0.0
	for i := range k {
		x := float64(i - ssimRadius)
		k[i] = math.Exp(-0.5 / (ssimSigma * ssimSigma) * x * x)
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	return k
}()

// SSIM is the mean structural similarity of img against ref: computed per
// RGB channel with an 11×11 Gaussian window (σ = 1.5), population
// covariance, K1 = 0.01, K2 = 0.03, data range 255, and averaged over the
// channels; it equals scikit-image 0.19's structural_similarity with those
// settings (see testdata/gen_image_metrics.py).
//
// Border handling: scikit-image filters with mode 'reflect' and then averages
// the SSIM map only over pixels at least 5 (the window radius) from every
// edge. Every window centred there lies inside the image, so the reflected
// samples never reach the mean; this code computes exactly that interior.
func SSIM(ref, img image.Image) (float64, error) {
	if err := sameSize(ref, img); err != nil {
		return 0, err
	}
	if s := ref.Bounds().Size(); s.X < SSIMWindow || s.Y < SSIMWindow {
		return 0, badinput.Errorf("image is %dx%d; SSIM needs at least %dx%d for its Gaussian window", s.X, s.Y, SSIMWindow, SSIMWindow)
	}
	a, b := toPlanes(ref), toPlanes(img)
	var per [3]float64
	var wg sync.WaitGroup
	for k := range per {
		wg.Add(1)
		go func() {
			defer wg.Done()
			per[k] = ssimPlane(a.c[k], b.c[k], a.w, a.h)
		}()
	}
	wg.Wait()
	return (per[0] + per[1] + per[2]) / 3, nil
}

// ssimPlane is the mean SSIM of one channel over the interior
// [r, h−r) × [r, w−r), r = 5.
func ssimPlane(x, y []float64, w, h int) float64 {
	const r = ssimRadius
	k := &ssimKernel
	iw := w - 2*r // interior width
	// Horizontal pass: the five local moments' row sums for every row and
	// interior column, products formed on the fly.
	var hm [5][]float64
	for m := range hm {
		hm[m] = make([]float64, h*iw)
	}
	for row := 0; row < h; row++ {
		xr, yr := x[row*w:(row+1)*w], y[row*w:(row+1)*w]
		o := row * iw
		for c := 0; c < iw; c++ {
			var sx, sy, sxx, syy, sxy float64
			for t := 0; t < SSIMWindow; t++ {
				xv, yv, kt := xr[c+t], yr[c+t], k[t]
				sx += kt * xv
				sy += kt * yv
				sxx += kt * xv * xv
				syy += kt * yv * yv
				sxy += kt * xv * yv
			}
			hm[0][o+c], hm[1][o+c], hm[2][o+c], hm[3][o+c], hm[4][o+c] = sx, sy, sxx, syy, sxy
		}
	}
	// Vertical pass and the SSIM map, accumulated row by row.
	c1 := (ssimK1 * ssimRange) * (ssimK1 * ssimRange)
	c2 := (ssimK2 * ssimRange) * (ssimK2 * ssimRange)
	total := 0.0
	for row := r; row < h-r; row++ {
		rowSum := 0.0
		for c := 0; c < iw; c++ {
			var ux, uy, uxx, uyy, uxy float64
			for t := 0; t < SSIMWindow; t++ {
				i, kt := (row-r+t)*iw+c, k[t]
				ux += kt * hm[0][i]
				uy += kt * hm[1][i]
				uxx += kt * hm[2][i]
				uyy += kt * hm[3][i]
				uxy += kt * hm[4][i]
			}
			vx := uxx - ux*ux
			vy := uyy - uy*uy
			vxy := uxy - ux*uy
			a1, a2 := 2*ux*uy+c1, 2*vxy+c2
			b1, b2 := ux*ux+uy*uy+c1, vx+vy+c2
			rowSum += (a1 * a2) / (b1 * b2)
		}
		total += rowSum
	}
	return total / float64(iw*(h-2*r))
}
