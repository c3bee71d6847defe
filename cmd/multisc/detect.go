package main

import (
	"fmt"
	"image"
	"math"

	"github.com/spf13/pflag"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/models/detr"
	"github.com/multisc/multisc/pipeline"
	"github.com/multisc/multisc/pipeline/imageio"
)

func init() {
	var o detectOpts
	register(&command{
		Name:  "detect",
		Short: "detect objects with DETR: labels, scores, boxes; optionally draw them",
		Usage: "IMG... --model detr.gguf [--threshold 0.7] [--json] [--draw boxes.png] [--native-size]",
		Long: `Runs DETR (models/detr) on each image on its own and lists the detections
whose score (softmax over the classes and no-object, max over the classes)
exceeds --threshold, highest first, with boxes [x0 y0 x1 y1] in pixels of
the image. Images are resized as DETR's evaluation (shorter side 800, longer
at most 1333; --native-size keeps them as they are).

With several images, the --draw name must contain {} (replaced by each
image's file name without extension). All images are read and checked
before anything is written; the model loads once.`,
		Flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&o.model, "model", "", "DETR model (GGUF)")
			fs.Float64Var(&o.threshold, "threshold", 0.7, "keep detections scoring above this (0 ≤ t < 1)")
			fs.BoolVar(&o.json, "json", false, "print JSON")
			fs.StringVar(&o.draw, "draw", "", "write the image with the boxes drawn (PNG)")
			fs.BoolVar(&o.native, "native-size", false, "do not resize the images")
		},
		Run: func(env *Env, args []string) error { return runDetect(env, args, o) },
	})
}

type detectOpts struct {
	model, draw  string
	threshold    float64
	json, native bool
}

// detectReport is one image's --json record.
type detectReport struct {
	Image      string           `json:"image"`
	Width      int              `json:"width"`
	Height     int              `json:"height"`
	Detections []detr.Detection `json:"detections"`
	Drawn      string           `json:"drawn,omitempty"`
}

// checkThreshold reports a --threshold outside [0, 1).
func checkThreshold(t float64) error {
	if !(t >= 0 && t < 1) || math.IsNaN(t) {
		return badInput("--threshold %v: want a score in [0, 1)", t)
	}
	return nil
}

// openDetector opens a DETR model file on the env's device.
func openDetector(env *Env, flag, path string) (*bindings.Loaded, *detr.Model, error) {
	if path == "" {
		return nil, nil, badInput("%s is required", flag)
	}
	l, err := bindings.Open(path, bindings.Options{Arch: detr.Arch, Device: env.Device, Threads: env.Threads})
	if err != nil {
		return nil, nil, err
	}
	return l, l.Model.(*detr.Model), nil
}

func runDetect(env *Env, args []string, o detectOpts) error {
	if len(args) == 0 {
		return badInput("detect: give at least one image")
	}
	if o.model == "" {
		return badInput("detect: --model is required")
	}
	if err := checkThreshold(o.threshold); err != nil {
		return err
	}
	if err := checkVisionOutputs([]visionOutput{{"--draw", o.draw}}, args); err != nil {
		return err
	}
	imgs, err := loadVisionImages(args)
	if err != nil {
		return err
	}
	l, m, err := openDetector(env, "--model", o.model)
	if err != nil {
		return err
	}
	defer l.Close()
	var reports []detectReport
	for i, img := range imgs {
		dets, err := m.Detect([]image.Image{img}, float32(o.threshold), !o.native)
		if err != nil {
			return badInput("%s: %v", args[i], err)
		}
		b := img.Bounds()
		r := detectReport{Image: args[i], Width: b.Dx(), Height: b.Dy(), Detections: dets[0]}
		if o.draw != "" {
			var rects []image.Rectangle
			for _, d := range r.Detections {
				rects = append(rects, d.Rect())
			}
			r.Drawn = visionName(o.draw, args[i])
			if err := imageio.SavePNG(r.Drawn, pipeline.DrawBoxes(img, rects)); err != nil {
				return err
			}
		}
		reports = append(reports, r)
	}
	if o.json {
		return env.printJSON(reports)
	}
	for _, r := range reports {
		fmt.Fprintf(env.Stdout, "%s (%dx%d): %d detections\n", r.Image, r.Width, r.Height, len(r.Detections))
		for _, d := range r.Detections {
			fmt.Fprintf(env.Stdout, "  %-14s %.3f  [%.1f %.1f %.1f %.1f]\n", d.Label, d.Score, d.Box[0], d.Box[1], d.Box[2], d.Box[3])
		}
		if r.Drawn != "" {
			fmt.Fprintf(env.Stdout, "  wrote %s\n", r.Drawn)
		}
	}
	return nil
}
