package metrics

import (
	"image"
	"math"
	"runtime"
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
	w, h := a.w, a.h
	// Work is split into bands of output rows per channel; each band's row
	// sums land in rowSums and are added in a fixed order afterwards, so the
	// result does not depend on scheduling.
	rows := h - 2*ssimRadius
	band := max(16, rows/(2*runtime.GOMAXPROCS(0)))
	type task struct{ ch, r0, r1 int }
	var tasks []task
	for ch := range 3 {
		for r0 := 0; r0 < rows; r0 += band {
			tasks = append(tasks, task{ch, r0, min(r0+band, rows)})
		}
	}
	rowSums := make([]float64, 3*rows)
	next := make(chan task)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(tasks)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := newSSIMScratch(w)
			for t := range next {
				s.band(a.c[t.ch], b.c[t.ch], w, t.r0, t.r1, rowSums[t.ch*rows:])
			}
		}()
	}
	for _, t := range tasks {
		next <- t
	}
	close(next)
	wg.Wait()
	var per [3]float64
	for ch := range per {
		for _, v := range rowSums[ch*rows : (ch+1)*rows] {
			per[ch] += v
		}
		per[ch] /= float64(rows * (w - 2*ssimRadius))
	}
	return (per[0] + per[1] + per[2]) / 3, nil
}

// ssimScratch holds one worker's buffers: the products of an input row and
// a ring of the last 11 horizontally filtered rows of the five moments
// (x, y, x², y², xy).
type ssimScratch struct {
	xx, yy, xy []float64
	ring       [SSIMWindow][5][]float64
	acc        [5][]float64
}

func newSSIMScratch(w int) *ssimScratch {
	iw := w - 2*ssimRadius
	s := &ssimScratch{xx: make([]float64, w), yy: make([]float64, w), xy: make([]float64, w)}
	for i := range s.ring {
		for m := range s.ring[i] {
			s.ring[i][m] = make([]float64, iw)
		}
	}
	for m := range s.acc {
		s.acc[m] = make([]float64, iw)
	}
	return s
}

// hfilter filters src along the row into dst for the interior columns,
// pairing taps symmetric about the centre to halve the multiplications.
func hfilter(dst, src []float64) {
	k := &ssimKernel
	n := len(dst)
	s0, s1, s2, s3, s4, s5 := src[0:n], src[1:n+1], src[2:n+2], src[3:n+3], src[4:n+4], src[5:n+5]
	s6, s7, s8, s9, s10 := src[6:n+6], src[7:n+7], src[8:n+8], src[9:n+9], src[10:n+10]
	for c := range dst {
		dst[c] = k[5]*s5[c] + k[0]*(s0[c]+s10[c]) + k[1]*(s1[c]+s9[c]) + k[2]*(s2[c]+s8[c]) + k[3]*(s3[c]+s7[c]) + k[4]*(s4[c]+s6[c])
	}
}

// band computes the SSIM row sums of interior rows [r0, r1) (counted from
// the first interior row) into out[r0:r1].
func (s *ssimScratch) band(x, y []float64, w, r0, r1 int, out []float64) {
	const r = ssimRadius
	c1 := (ssimK1 * ssimRange) * (ssimK1 * ssimRange)
	c2 := (ssimK2 * ssimRange) * (ssimK2 * ssimRange)
	iw := w - 2*r
	// Output row o (interior index) is centred on input row o+r and needs
	// input rows o .. o+2r.
	for in := r0; in < r1+2*r; in++ {
		xr, yr := x[in*w:(in+1)*w], y[in*w:(in+1)*w]
		for i, xv := range xr {
			yv := yr[i]
			s.xx[i], s.yy[i], s.xy[i] = xv*xv, yv*yv, xv*yv
		}
		slot := &s.ring[in%SSIMWindow]
		hfilter(slot[0], xr)
		hfilter(slot[1], yr)
		hfilter(slot[2], s.xx)
		hfilter(slot[3], s.yy)
		hfilter(slot[4], s.xy)
		if in < r0+2*r {
			continue
		}
		o := in - 2*r // the output row whose window ends at input row in
		for m := range s.acc {
			vfilter(s.acc[m], &s.ring, o, m)
		}
		sum := 0.0
		ux, uy, uxx, uyy, uxy := s.acc[0], s.acc[1], s.acc[2], s.acc[3], s.acc[4]
		for c := 0; c < iw; c++ {
			vx := uxx[c] - ux[c]*ux[c]
			vy := uyy[c] - uy[c]*uy[c]
			vxy := uxy[c] - ux[c]*uy[c]
			a1, a2 := 2*ux[c]*uy[c]+c1, 2*vxy+c2
			b1, b2 := ux[c]*ux[c]+uy[c]*uy[c]+c1, vx+vy+c2
			sum += (a1 * a2) / (b1 * b2)
		}
		out[o] = sum
	}
}

// vfilter filters the ring's rows o .. o+10 of moment m down the columns
// into dst, pairing rows symmetric about the centre.
func vfilter(dst []float64, ring *[SSIMWindow][5][]float64, o, m int) {
	k := &ssimKernel
	n := len(dst)
	row := func(t int) []float64 { return ring[(o+t)%SSIMWindow][m][:n] }
	r0, r1, r2, r3, r4, r5 := row(0), row(1), row(2), row(3), row(4), row(5)
	r6, r7, r8, r9, r10 := row(6), row(7), row(8), row(9), row(10)
	for c := range dst {
		dst[c] = k[5]*r5[c] + k[0]*(r0[c]+r10[c]) + k[1]*(r1[c]+r9[c]) + k[2]*(r2[c]+r8[c]) + k[3]*(r3[c]+r7[c]) + k[4]*(r4[c]+r6[c])
	}
}
