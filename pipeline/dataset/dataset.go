// Package dataset reads the image datasets the experiments run on, in the
// layouts their public downloads unpack to: PASCAL VOC2012, COCO 2017, Kodak24
// and, as a fallback, any folder of images.
//
// A Dataset is a deterministic, lazily loaded sequence of samples: opening it
// reads only the index (a split list, a COCO annotation file), each sample's
// own annotation file is parsed when the sequence reaches it, and pixels are
// decoded only when Sample.Image is called. The order is fixed by the
// dataset (split-file order for VOC, image id for COCO, file name otherwise),
// so the first N samples are the same N on every machine.
//
// Every problem with the files on disk (wrong layout, missing or malformed
// annotation, missing image) is a badinput error naming the file or folder
// that was expected.
package dataset

import (
	"errors"
	"image"
	"io/fs"
	"iter"
	"os"
	"path/filepath"

	"github.com/multisc/multisc/bindings/badinput"
	"github.com/multisc/multisc/pipeline/imageio"
)

// Kinds lists the dataset kinds Open accepts.
var Kinds = []string{"voc", "coco", "kodak", "folder"}

// Options select part of a dataset.
type Options struct {
	// Split names the subset: "" for the kind's default ("val" for VOC and
	// COCO); VOC and COCO accept "train", "val" and VOC also "trainval" and
	// "Segmentation/<name>" (see OpenVOC). Kodak and folders have no splits.
	Split string
	// Limit keeps the first Limit samples; 0 keeps all.
	Limit int
}

// Box is an axis-aligned box in pixel coordinates. VOC boxes are as written
// in the XML: 1-based, inclusive corners. COCO boxes are [x, y, w, h] from
// the JSON turned into corners: XMin = x, XMax = x + w (0-based, exclusive).
type Box struct {
	XMin float64 `json:"xmin"`
	YMin float64 `json:"ymin"`
	XMax float64 `json:"xmax"`
	YMax float64 `json:"ymax"`
}

// Object is one annotated object instance.
type Object struct {
	Label      string `json:"label"`
	CategoryID int    `json:"category_id,omitempty"` // COCO category id
	Box        Box    `json:"box"`
	Pose       string `json:"pose,omitempty"`      // VOC
	Truncated  bool   `json:"truncated,omitempty"` // VOC
	Difficult  bool   `json:"difficult,omitempty"` // VOC
	Crowd      bool   `json:"crowd,omitempty"`     // COCO iscrowd
}

// Sample is one image with whatever annotations the dataset has for it.
type Sample struct {
	Index     int    `json:"index"`      // position in the sequence, from 0
	ID        string `json:"id"`         // VOC "2007_000032", COCO "139", file stem otherwise
	ImagePath string `json:"image_path"` // root joined with the image's relative path
	// Width and Height come from the annotations; 0 when the dataset has none.
	Width  int `json:"width,omitempty"`
	Height int `json:"height,omitempty"`
	// Objects are the boxes, in file order (VOC) or annotation-id order (COCO).
	Objects []Object `json:"objects,omitempty"`
	// Captions are COCO's reference captions (five per image), in
	// annotation-id order: the BLEU references for this image.
	Captions []string `json:"captions,omitempty"`
	// SegmentationPath is VOC's SegmentationClass palette PNG, "" if none.
	SegmentationPath string `json:"segmentation_path,omitempty"`
}

// Image decodes the sample's image.
func (s Sample) Image() (image.Image, error) { return imageio.Load(s.ImagePath) }

// Segmentation decodes VOC's class map: pixel values are class indices
// (0 background, 1–20 classes, 255 boundary/void) and the palette is VOC's
// colour map.
func (s Sample) Segmentation() (*image.Paletted, error) {
	if s.SegmentationPath == "" {
		return nil, badinput.Errorf("sample %s has no segmentation mask", s.ID)
	}
	img, err := imageio.Load(s.SegmentationPath)
	if err != nil {
		return nil, err
	}
	p, ok := img.(*image.Paletted)
	if !ok {
		return nil, badinput.Errorf("%s: segmentation mask is not a palette PNG", s.SegmentationPath)
	}
	return p, nil
}

// Dataset is an ordered, lazily loaded sequence of samples.
type Dataset interface {
	Kind() string
	Root() string
	Split() string // "" for kinds without splits
	// Len is the number of samples Samples yields (after Limit).
	Len() int
	// Samples yields the samples in order. It stops after yielding the first
	// error (a missing image, a malformed annotation file).
	Samples() iter.Seq2[Sample, error]
}

// Open opens a dataset of the given kind ("voc", "coco", "kodak", "folder").
func Open(kind, root string, opt Options) (Dataset, error) {
	switch kind {
	case "voc":
		return OpenVOC(root, opt)
	case "coco":
		return OpenCOCO(root, opt)
	case "kodak":
		return OpenKodak(root, opt)
	case "folder":
		return OpenFolder(root, opt)
	}
	return nil, badinput.Errorf("unknown dataset kind %q (want voc, coco, kodak or folder)", kind)
}

// seq is the Dataset behind every kind: n samples, built one at a time.
type seq struct {
	kind, root, split string
	n                 int
	sample            func(i int) (Sample, error)
}

func (d *seq) Kind() string  { return d.kind }
func (d *seq) Root() string  { return d.root }
func (d *seq) Split() string { return d.split }
func (d *seq) Len() int      { return d.n }

func (d *seq) Samples() iter.Seq2[Sample, error] {
	return func(yield func(Sample, error) bool) {
		for i := 0; i < d.n; i++ {
			s, err := d.sample(i)
			s.Index = i
			if !yield(s, err) || err != nil {
				return
			}
		}
	}
}

// limit applies Options.Limit to a count.
func limit(n int, opt Options) int {
	if opt.Limit > 0 && opt.Limit < n {
		return opt.Limit
	}
	return n
}

// checkCommon validates the options and the root shared by every kind.
func checkCommon(kind, root string, opt Options) error {
	if opt.Limit < 0 {
		return badinput.Errorf("--limit must be >= 0, got %d", opt.Limit)
	}
	if root == "" {
		return badinput.Errorf("%s dataset: no root folder given", kind)
	}
	st, err := os.Stat(root)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return badinput.Errorf("%s dataset root %s does not exist", kind, root)
	case err != nil:
		return badinput.Errorf("%s dataset root: %v", kind, err)
	case !st.IsDir():
		return badinput.Errorf("%s dataset root %s is a file, not a folder", kind, root)
	}
	return nil
}

// isDir and isFile report whether path exists as a folder or a regular file.
func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// needFile returns a bad-input error unless root/rel is a regular file.
func needFile(kind, root, rel string) error {
	if !isFile(filepath.Join(root, rel)) {
		return badinput.Errorf("%s dataset %s: expected file %s", kind, root, rel)
	}
	return nil
}

// noSplit rejects a split for kinds that have none.
func noSplit(kind string, opt Options) error {
	if opt.Split != "" {
		return badinput.Errorf("%s datasets have no splits (got --split %s)", kind, opt.Split)
	}
	return nil
}
