package main

import (
	"fmt"
	"math"

	"github.com/spf13/pflag"

	"github.com/multisc/multisc/pipeline/imageio"
	"github.com/multisc/multisc/pipeline/metrics"
)

func init() {
	var ref, img, lpips string
	var asJSON bool
	var maxPixels, lpipsPixels int64
	register(&command{
		Name:  "metrics",
		Short: "score an image against its reference: PSNR, SSIM, cosine, LPIPS",
		Usage: "--ref REF.png --img IMG.png [--lpips LPIPS.gguf] [--json]",
		Long: `Scores IMG against REF (same size; PNG, JPEG, GIF, BMP, TIFF or WebP):
  psnr    dB over all RGB samples, data range 255 (inf, JSON null, when identical)
  ssim    Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03,
          per RGB channel and averaged; equals scikit-image 0.19 structural_similarity
  lpips   LPIPS distance with the model file given by --lpips (only then)
  cosine  cosine similarity of two image embeddings; the embedding is named in
          the output (now rgb-pixels-centred: flattened RGB minus its mean;
          JSON null when an image is a single colour)
Memory is bounded: images of more than --max-pixels are refused (the metrics
take about 70 bytes per pixel), and LPIPS runs on images downscaled
(Catmull-Rom, aspect kept) to at most --lpips-max-pixels; the size it ran at is
printed (JSON lpips_width/lpips_height). A NaN or infinite LPIPS is an error.`,
		Flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&ref, "ref", "", "reference image")
			fs.StringVar(&img, "img", "", "image to score")
			fs.StringVar(&lpips, "lpips", "", "LPIPS model (GGUF); adds the LPIPS distance")
			fs.BoolVar(&asJSON, "json", false, "print JSON")
			fs.Int64Var(&maxPixels, "max-pixels", imageio.DefaultMaxPixels, fmt.Sprintf("refuse images of more pixels (up to %d)", imageio.HardMaxPixels))
			fs.Int64Var(&lpipsPixels, "lpips-max-pixels", defaultLPIPSPixels, "downscale images of more pixels before LPIPS")
		},
		Run: func(env *Env, args []string) error {
			if len(args) != 0 {
				return badInput("metrics takes no arguments (use --ref and --img)")
			}
			if ref == "" || img == "" {
				return badInput("metrics: --ref and --img are both required")
			}
			if maxPixels < 1 || maxPixels > imageio.HardMaxPixels {
				return badInput("--max-pixels %d: want 1 to %d", maxPixels, imageio.HardMaxPixels)
			}
			if lpipsPixels < 32*32 || lpipsPixels > imageio.HardMaxPixels {
				return badInput("--lpips-max-pixels %d: want %d to %d", lpipsPixels, 32*32, imageio.HardMaxPixels)
			}
			return runMetrics(env, metricsArgs{ref, img, lpips, asJSON, maxPixels, lpipsPixels})
		},
	})
}

// metricsReport is the --json output of "multisc metrics".
type metricsReport struct {
	Ref             string   `json:"ref"`
	Img             string   `json:"img"`
	Width           int      `json:"width"`
	Height          int      `json:"height"`
	PSNR            *float64 `json:"psnr_db"` // null: identical images (infinite PSNR)
	SSIM            float64  `json:"ssim"`
	LPIPS           *float64 `json:"lpips,omitempty"`
	LPIPSWidth      int      `json:"lpips_width,omitempty"`  // the size LPIPS ran at
	LPIPSHeight     int      `json:"lpips_height,omitempty"` // (downscaled when larger than --lpips-max-pixels)
	Cosine          *float64 `json:"cosine"`                 // null: undefined (a single-colour image)
	CosineEmbedding string   `json:"cosine_embedding"`
}

// metricsArgs are the flags of "multisc metrics".
type metricsArgs struct {
	ref, img, lpips string
	asJSON          bool
	maxPixels       int64
	lpipsPixels     int64
}

func runMetrics(env *Env, a metricsArgs) error {
	refPath, imgPath, lpipsPath, asJSON := a.ref, a.img, a.lpips, a.asJSON
	// Progress by stage, on stderr when it is a terminal: large images take
	// minutes.
	stages := int64(5)
	if lpipsPath != "" {
		stages++
	}
	bar := env.progress(stages, "metrics")
	defer bar.Finish()
	step := func(what string) {
		bar.Describe("metrics: " + what)
		bar.Add(1)
	}
	ref, err := imageio.LoadLimit(refPath, a.maxPixels)
	if err != nil {
		return err
	}
	step("loaded ref")
	img, err := imageio.LoadLimit(imgPath, a.maxPixels)
	if err != nil {
		return err
	}
	step("loaded img")
	rs, is := ref.Bounds().Size(), img.Bounds().Size()
	if rs != is {
		return badInput("--ref %s is %dx%d but --img %s is %dx%d; metrics need equal sizes", refPath, rs.X, rs.Y, imgPath, is.X, is.Y)
	}
	r := metricsReport{Ref: refPath, Img: imgPath, Width: rs.X, Height: rs.Y}
	psnr, err := metrics.PSNR(ref, img)
	if err != nil {
		return err
	}
	r.PSNR = finite(psnr)
	step("psnr")
	if r.SSIM, err = metrics.SSIM(ref, img); err != nil {
		return badInput("--ref %s: %v", refPath, err)
	}
	step("ssim")
	emb := metrics.PixelEmbedder{}
	cos, err := metrics.Cosine(emb, ref, img)
	if err != nil {
		return err
	}
	r.Cosine, r.CosineEmbedding = finite(cos), emb.Name()
	step("cosine")
	if lpipsPath != "" {
		d, size, err := lpipsDistance(env, lpipsPath, ref, img, a.lpipsPixels)
		if err != nil {
			return err
		}
		r.LPIPS, r.LPIPSWidth, r.LPIPSHeight = &d, size.X, size.Y
		step("lpips")
	}
	bar.Finish()
	if asJSON {
		return env.printJSON(r)
	}
	printMetrics(env, r)
	return nil
}

func printMetrics(env *Env, r metricsReport) {
	w := env.Stdout
	fmt.Fprintf(w, "ref     %s (%dx%d)\n", r.Ref, r.Width, r.Height)
	fmt.Fprintf(w, "img     %s\n", r.Img)
	if r.PSNR == nil {
		fmt.Fprintf(w, "psnr    inf dB (identical images)\n")
	} else {
		fmt.Fprintf(w, "psnr    %.4f dB\n", *r.PSNR)
	}
	fmt.Fprintf(w, "ssim    %.6f\n", r.SSIM)
	if r.LPIPS != nil {
		fmt.Fprintf(w, "lpips   %.6f", *r.LPIPS)
		if r.LPIPSWidth != r.Width || r.LPIPSHeight != r.Height {
			fmt.Fprintf(w, " (at %dx%d, downscaled to --lpips-max-pixels)", r.LPIPSWidth, r.LPIPSHeight)
		}
		fmt.Fprintln(w)
	}
	if r.Cosine == nil {
		fmt.Fprintf(w, "cosine  undefined (single-colour image) [embedding %s]\n", r.CosineEmbedding)
	} else {
		fmt.Fprintf(w, "cosine  %.6f [embedding %s]\n", *r.Cosine, r.CosineEmbedding)
	}
}

// finite returns &x, or nil for Inf and NaN, which JSON cannot carry.
func finite(x float64) *float64 {
	if math.IsInf(x, 0) || math.IsNaN(x) {
		return nil
	}
	return &x
}
