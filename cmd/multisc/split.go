package main

import (
	"encoding/json"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/multisc/multisc/bindings/atomicfile"
	"github.com/multisc/multisc/models/detr"
	"github.com/multisc/multisc/pipeline"
	"github.com/multisc/multisc/pipeline/imageio"
)

func init() {
	var o splitOpts
	register(&command{
		Name:  "split",
		Short: "split images into blocks: feature-fusion of DETR boxes, or random",
		Usage: "IMG... --out DIR [--mode fusion|random] [--detector detr.gguf] [--eps 0.1] [--blocks 4] [--seed S] [--min-size 32]",
		Long: `The transmitter's split (paper eq. 2, 9; pipeline.FusionSplit, RandomSplit).

fusion  DETR's boxes (score above --threshold) whose centres are closer than
        --eps times the image diagonal are fused, transitively, into their
        union box; each group is one block. No detection: the whole image is
        one block. Needs --detector.
random  a seeded random partition of the image into --blocks rectangles
        (guillotine cuts; fewer when --min-size forbids more).

Blocks smaller than --min-size on a side are grown to it (fusion) or never
cut (random). For each image, DIR gets NAME_block<k>.png, NAME_overlay.png
(blocks drawn on the image) and NAME.json (the manifest: blocks, boxes,
detections); NAME is the image's file name without extension. DIR is made
if missing. All images are read and checked before anything is written.`,
		Flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&o.out, "out", "", "output folder")
			fs.StringVar(&o.mode, "mode", "fusion", "fusion or random")
			fs.StringVar(&o.detector, "detector", "", "DETR model (GGUF), for --mode fusion")
			fs.Float64Var(&o.eps, "eps", 0.1, "fusion distance, a fraction of the image diagonal (> 0)")
			fs.Float64Var(&o.threshold, "threshold", 0.7, "detection score threshold")
			fs.IntVar(&o.blocks, "blocks", 4, "block count for --mode random (≥ 1)")
			fs.Uint64Var(&o.seed, "seed", 0, "random seed for --mode random")
			fs.IntVar(&o.minSize, "min-size", 32, "minimum block side in pixels (≥ 0)")
			fs.BoolVar(&o.native, "native-size", false, "run DETR without resizing the images")
		},
		Run: func(env *Env, args []string) error { return runSplit(env, args, o) },
	})
}

type splitOpts struct {
	out, mode, detector string
	eps, threshold      float64
	blocks, minSize     int
	seed                uint64
	native              bool
}

// splitManifest is NAME.json.
type splitManifest struct {
	Image      string           `json:"image"`
	Width      int              `json:"width"`
	Height     int              `json:"height"`
	Mode       string           `json:"mode"`
	Eps        float64          `json:"eps,omitempty"`
	Seed       *uint64          `json:"seed,omitempty"`
	MinSize    int              `json:"min_size"`
	Detector   string           `json:"detector,omitempty"`
	Threshold  float64          `json:"threshold,omitempty"`
	Detections []detr.Detection `json:"detections,omitempty"`
	Blocks     []splitBlockFile `json:"blocks"`
	Overlay    string           `json:"overlay"`
}

type splitBlockFile struct {
	pipeline.Block
	File string `json:"file"`
}

func runSplit(env *Env, args []string, o splitOpts) error {
	if len(args) == 0 {
		return badInput("split: give at least one image")
	}
	if o.out == "" {
		return badInput("split: --out DIR is required")
	}
	switch o.mode {
	case "fusion":
		if !(o.eps > 0) || math.IsInf(o.eps, 0) {
			return badInput("--eps %v: want a positive fraction of the image diagonal", o.eps)
		}
		if o.detector == "" {
			return badInput("--mode fusion needs --detector (a DETR model)")
		}
		if err := checkThreshold(o.threshold); err != nil {
			return err
		}
	case "random":
		if o.blocks < 1 {
			return badInput("--blocks %d: want at least 1", o.blocks)
		}
	default:
		return badInput("--mode %q: want fusion or random", o.mode)
	}
	if o.minSize < 0 {
		return badInput("--min-size %d: want ≥ 0", o.minSize)
	}
	if st, err := os.Stat(o.out); err == nil && !st.IsDir() {
		return badInput("--out %s is a file, not a folder", o.out)
	}
	stems := map[string]string{}
	for _, a := range args {
		s := visionName("{}", a)
		if prev, ok := stems[s]; ok {
			return badInput("%s and %s would write the same files in --out (same name %q)", prev, a, s)
		}
		stems[s] = a
	}
	imgs, err := loadVisionImages(args)
	if err != nil {
		return err
	}
	var dm *detr.Model
	if o.mode == "fusion" {
		l, m, err := openDetector(env, "--detector", o.detector)
		if err != nil {
			return err
		}
		defer l.Close()
		dm = m
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return badInput("--out %s: %v", o.out, err)
	}
	for i, img := range imgs {
		b := img.Bounds()
		bounds := image.Rect(0, 0, b.Dx(), b.Dy())
		man := splitManifest{Image: args[i], Width: b.Dx(), Height: b.Dy(), Mode: o.mode, MinSize: o.minSize}
		var blocks []pipeline.Block
		if dm != nil {
			dets, err := dm.Detect([]image.Image{img}, float32(o.threshold), !o.native)
			if err != nil {
				return badInput("%s: %v", args[i], err)
			}
			man.Detections, man.Detector, man.Threshold, man.Eps = dets[0], o.detector, o.threshold, o.eps
			var boxes []image.Rectangle
			for _, d := range dets[0] {
				boxes = append(boxes, d.Rect())
			}
			if blocks, err = pipeline.FusionSplit(bounds, boxes, o.eps, o.minSize); err != nil {
				return badInput("%s: %v", args[i], err)
			}
		} else {
			seed := o.seed
			man.Seed = &seed
			if blocks, err = pipeline.RandomSplit(bounds, o.blocks, o.seed, o.minSize); err != nil {
				return badInput("%s: %v", args[i], err)
			}
		}
		stem := visionName("{}", args[i])
		var rects []image.Rectangle
		for k, blk := range blocks {
			f := filepath.Join(o.out, fmt.Sprintf("%s_block%d.png", stem, k))
			if err := imageio.SavePNG(f, pipeline.Crop(img, blk.Rect)); err != nil {
				return err
			}
			man.Blocks = append(man.Blocks, splitBlockFile{Block: blk, File: f})
			rects = append(rects, blk.Rect)
		}
		man.Overlay = filepath.Join(o.out, stem+"_overlay.png")
		if err := imageio.SavePNG(man.Overlay, pipeline.DrawBoxes(img, rects)); err != nil {
			return err
		}
		data, err := json.MarshalIndent(man, "", "  ")
		if err != nil {
			return err
		}
		mf := filepath.Join(o.out, stem+".json")
		if err := atomicfile.Write(mf, 0o644, func(f *os.File) error {
			_, err := f.Write(append(data, '\n'))
			return err
		}); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s: %d blocks (%s) -> %s\n", args[i], len(blocks), o.mode, mf)
	}
	return nil
}
