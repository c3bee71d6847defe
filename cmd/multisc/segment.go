package main

import (
	"fmt"
	"image"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/models/fcn"
	"github.com/multisc/multisc/pipeline"
	"github.com/multisc/multisc/pipeline/imageio"
)

func init() {
	var o segmentOpts
	register(&command{
		Name:  "segment",
		Short: "segment images with an FCN; write the mask, an overlay and the object slice",
		Usage: "IMG... --model fcn.gguf [--out mask.png] [--overlay o.png] [--slice s.png] [--resize N] [--json]",
		Long: `Runs the FCN (models/fcn) on each image and writes its label mask as a
paletted PNG (pixel value = class index, VOC colours). --overlay draws the
mask over the image; --slice writes the main object's masked crop i_m (the
largest connected region of one non-background class, background pixels of
its box black; see pipeline.ObjectSlice). No object found: no slice file,
and "found": false in --json.

With several images, every output name must contain {} (replaced by the
image's file name without extension), e.g. --out 'masks/{}.png'. All images
are read and checked before anything is written; the model loads once.

--resize N resizes each image so its shorter side is N before the network
(0: the model's fcn.resize, 520 for fcn_resnet50; -1: native size); the
mask always has the image's size.`,
		Flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&o.model, "model", "", "FCN model (GGUF)")
			fs.StringVar(&o.out, "out", "", "label mask PNG")
			fs.StringVar(&o.overlay, "overlay", "", "mask drawn over the image (PNG)")
			fs.StringVar(&o.slice, "slice", "", "main object slice i_m (PNG)")
			fs.IntVar(&o.resize, "resize", 0, "shorter side for the network (0 = model default, -1 = native)")
			fs.BoolVar(&o.json, "json", false, "print JSON")
		},
		Run: func(env *Env, args []string) error { return runSegment(env, args, o) },
	})
}

type segmentOpts struct {
	model, out, overlay, slice string
	resize                     int
	json                       bool
}

// segmentReport is one image's --json record.
type segmentReport struct {
	Image   string               `json:"image"`
	Width   int                  `json:"width"`
	Height  int                  `json:"height"`
	Mask    string               `json:"mask,omitempty"`
	Overlay string               `json:"overlay,omitempty"`
	Slice   string               `json:"slice,omitempty"`
	Object  pipeline.ObjectSlice `json:"object"`
	Classes []segmentClassPixels `json:"classes"`
}

type segmentClassPixels struct {
	Class  int    `json:"class"`
	Label  string `json:"label"`
	Pixels int    `json:"pixels"`
}

func runSegment(env *Env, args []string, o segmentOpts) error {
	if len(args) == 0 {
		return badInput("segment: give at least one image")
	}
	if o.model == "" {
		return badInput("segment: --model is required")
	}
	if o.resize < -1 {
		return badInput("--resize %d: want a positive size, 0 (model default) or -1 (native)", o.resize)
	}
	outs := []visionOutput{{"--out", o.out}, {"--overlay", o.overlay}, {"--slice", o.slice}}
	if err := checkVisionOutputs(outs, args); err != nil {
		return err
	}
	imgs, err := loadVisionImages(args)
	if err != nil {
		return err
	}
	l, err := bindings.Open(o.model, bindings.Options{Arch: fcn.Arch, Device: env.Device, Threads: env.Threads})
	if err != nil {
		return err
	}
	defer l.Close()
	m := l.Model.(*fcn.Model)
	var reports []segmentReport
	for i, img := range imgs {
		mask, err := m.Segment(img, o.resize)
		if err != nil {
			return badInput("%s: %v", args[i], err)
		}
		s := pipeline.MainObject(mask.Label, mask.W, mask.H, img, mask.Classes)
		r := segmentReport{Image: args[i], Width: mask.W, Height: mask.H, Object: s}
		counts := make([]int, len(mask.Classes))
		for _, c := range mask.Label {
			counts[c]++
		}
		for c, n := range counts {
			if n > 0 {
				r.Classes = append(r.Classes, segmentClassPixels{c, mask.Classes[c], n})
			}
		}
		if o.out != "" {
			r.Mask = visionName(o.out, args[i])
			if err := imageio.SavePNG(r.Mask, pipeline.MaskImage(mask.Label, mask.W, mask.H)); err != nil {
				return err
			}
		}
		if o.overlay != "" {
			r.Overlay = visionName(o.overlay, args[i])
			if err := imageio.SavePNG(r.Overlay, pipeline.MaskOverlay(img, mask.Label)); err != nil {
				return err
			}
		}
		if o.slice != "" && s.Found {
			r.Slice = visionName(o.slice, args[i])
			if err := imageio.SavePNG(r.Slice, s.Image); err != nil {
				return err
			}
		}
		reports = append(reports, r)
	}
	if o.json {
		return env.printJSON(reports)
	}
	for _, r := range reports {
		fmt.Fprintf(env.Stdout, "%s (%dx%d):", r.Image, r.Width, r.Height)
		for _, c := range r.Classes {
			fmt.Fprintf(env.Stdout, " %s %.1f%%", c.Label, 100*float64(c.Pixels)/float64(r.Width*r.Height))
		}
		fmt.Fprintln(env.Stdout)
		if r.Object.Found {
			b := r.Object.BoxXYXY
			fmt.Fprintf(env.Stdout, "  main object: %s, %d px, box [%d %d %d %d]\n", r.Object.Label, r.Object.Area, b[0], b[1], b[2], b[3])
		} else {
			fmt.Fprintf(env.Stdout, "  main object: none (all background; no slice)\n")
		}
		for _, f := range []string{r.Mask, r.Overlay, r.Slice} {
			if f != "" {
				fmt.Fprintf(env.Stdout, "  wrote %s\n", f)
			}
		}
	}
	return nil
}

// visionOutput is an output-file flag of segment/detect/split.
type visionOutput struct{ flag, value string }

// checkVisionOutputs: with several images every set output name must hold
// "{}"; each output's folder must exist.
func checkVisionOutputs(outs []visionOutput, images []string) error {
	for _, o := range outs {
		if o.value == "" {
			continue
		}
		if len(images) > 1 && !strings.Contains(o.value, "{}") {
			return badInput("%s %q: with %d images the name must contain {} (replaced by each image's name)", o.flag, o.value, len(images))
		}
		if err := checkOutput(o.flag, o.value); err != nil {
			return err
		}
	}
	return nil
}

// visionName fills "{}" in an output name with the image's base name
// without extension.
func visionName(pattern, imagePath string) string {
	stem := strings.TrimSuffix(filepath.Base(imagePath), filepath.Ext(imagePath))
	return strings.ReplaceAll(pattern, "{}", stem)
}

// loadVisionImages decodes every image before any work (a bad one is
// reported, naming its file, before anything is written).
func loadVisionImages(paths []string) ([]image.Image, error) {
	var imgs []image.Image
	for _, p := range paths {
		img, err := imageio.Load(p)
		if err != nil {
			return nil, err
		}
		if b := img.Bounds(); b.Dx() < 1 || b.Dy() < 1 {
			return nil, badInput("%s: image is %dx%d", p, b.Dx(), b.Dy())
		}
		imgs = append(imgs, img)
	}
	return imgs, nil
}
