package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/multisc/multisc/pipeline/dataset"
)

func init() {
	var kind, root, split string
	var limit int
	var asJSON bool
	ls := &command{
		Name:  "ls",
		Short: "list a dataset's samples in their fixed order",
		Usage: "--kind voc|coco|kodak|folder --root DIR [--split val] [--limit N] [--json]",
		Long: `Lists the samples of a dataset as unpacked from its public download:
  voc     ROOT/VOCdevkit/VOC2012/{JPEGImages,Annotations,SegmentationClass,ImageSets}
          splits train, val (default), trainval (ImageSets/Main) and
          Segmentation/train, Segmentation/val, Segmentation/trainval
  coco    ROOT/annotations/{instances,captions}_<split>2017.json, ROOT/<split>2017/
          splits train, val (default)
  kodak   ROOT/kodim01.png ... kodim24.png
  folder  every image file in ROOT, by name
The order is fixed (split file, image id, file name), so --limit N always
picks the same N samples. --json adds boxes and captions.`,
		Flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&kind, "kind", "", "dataset kind: voc, coco, kodak or folder")
			fs.StringVar(&root, "root", "", "dataset root folder")
			fs.StringVar(&split, "split", "", "split (voc, coco; default val)")
			fs.IntVar(&limit, "limit", 0, "list only the first N samples (0 = all)")
			fs.BoolVar(&asJSON, "json", false, "print JSON")
		},
		Run: func(env *Env, args []string) error {
			if len(args) != 0 {
				return badInput("dataset ls takes no arguments (use --root)")
			}
			if kind == "" || root == "" {
				return badInput("dataset ls: --kind (%s) and --root are required", strings.Join(dataset.Kinds, ", "))
			}
			return runDatasetLs(env, kind, root, dataset.Options{Split: split, Limit: limit}, asJSON)
		},
	}
	register(&command{
		Name:  "dataset",
		Short: "inspect image datasets (VOC2012, COCO 2017, Kodak24, folders)",
		Sub:   []*command{ls},
	})
}

// datasetListing is the --json output of "multisc dataset ls".
type datasetListing struct {
	Kind    string           `json:"kind"`
	Root    string           `json:"root"`
	Split   string           `json:"split,omitempty"`
	Count   int              `json:"count"`
	Samples []dataset.Sample `json:"samples"`
}

func runDatasetLs(env *Env, kind, root string, opt dataset.Options, asJSON bool) error {
	d, err := dataset.Open(kind, root, opt)
	if err != nil {
		return err
	}
	// Gather first, so a bad file halfway leaves no partial listing behind.
	l := datasetListing{Kind: d.Kind(), Root: d.Root(), Split: d.Split(), Samples: make([]dataset.Sample, 0, d.Len())}
	for s, err := range d.Samples() {
		if err != nil {
			return err
		}
		l.Samples = append(l.Samples, s)
	}
	l.Count = len(l.Samples)
	if asJSON {
		return env.printJSON(l)
	}
	w := env.Stdout
	split := ""
	if l.Split != "" {
		split = " split " + l.Split
	}
	fmt.Fprintf(w, "# %s %s%s: %d samples\n", l.Kind, l.Root, split, l.Count)
	for _, s := range l.Samples {
		rel, err := filepath.Rel(l.Root, s.ImagePath)
		if err != nil {
			rel = s.ImagePath
		}
		line := fmt.Sprintf("%d\t%s\t%s", s.Index, s.ID, rel)
		if s.Width > 0 {
			line += fmt.Sprintf("\t%dx%d", s.Width, s.Height)
		}
		if kind == "voc" || kind == "coco" {
			line += fmt.Sprintf("\tobjects=%d", len(s.Objects))
		}
		if kind == "coco" {
			line += fmt.Sprintf("\tcaptions=%d", len(s.Captions))
		}
		if kind == "voc" {
			line += "\tseg=" + map[bool]string{true: "yes", false: "no"}[s.SegmentationPath != ""]
		}
		fmt.Fprintln(w, line)
	}
	return nil
}
