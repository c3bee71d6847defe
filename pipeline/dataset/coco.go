package dataset

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/multisc/multisc/bindings/badinput"
)

// OpenCOCO opens COCO 2017 as unpacked from train2017.zip / val2017.zip and
// annotations_trainval2017.zip:
//
//	root/annotations/instances_<split>2017.json   boxes and categories
//	root/annotations/captions_<split>2017.json    five captions per image
//	root/<split>2017/*.jpg                        images
//
// Splits are "val" (default) and "train". At least one of the two annotation
// files must exist; both are read when present. Unlike VOC, COCO keeps a
// split's annotations in one JSON file, so OpenCOCO reads it whole (the
// segmentation polygons are skipped); images stay on disk until asked for.
// Samples come in ascending image id.
func OpenCOCO(root string, opt Options) (Dataset, error) {
	if err := checkCommon("coco", root, opt); err != nil {
		return nil, err
	}
	split := opt.Split
	if split == "" {
		split = "val"
	}
	if split != "train" && split != "val" {
		return nil, badinput.Errorf("coco dataset: --split must be train or val, got %q", opt.Split)
	}
	instRel := filepath.Join("annotations", "instances_"+split+"2017.json")
	capRel := filepath.Join("annotations", "captions_"+split+"2017.json")
	haveInst, haveCap := isFile(filepath.Join(root, instRel)), isFile(filepath.Join(root, capRel))
	if !haveInst && !haveCap {
		return nil, badinput.Errorf("coco dataset %s: expected file %s or %s", root, instRel, capRel)
	}
	imgRel := split + "2017"
	if !isDir(filepath.Join(root, imgRel)) {
		return nil, badinput.Errorf("coco dataset %s: expected image folder %s", root, imgRel)
	}

	idx := &cocoIndex{byID: map[int64]*Sample{}, cats: map[int]string{}}
	if haveInst {
		if err := idx.add(filepath.Join(root, instRel), true); err != nil {
			return nil, err
		}
	}
	if haveCap {
		if err := idx.add(filepath.Join(root, capRel), false); err != nil {
			return nil, err
		}
	}
	samples := idx.sorted()
	for i := range samples {
		samples[i].ImagePath = filepath.Join(root, imgRel, samples[i].ImagePath)
	}
	return &seq{
		kind: "coco", root: root, split: split, n: limit(len(samples), opt),
		sample: func(i int) (Sample, error) {
			s := samples[i]
			if !isFile(s.ImagePath) {
				return s, badinput.Errorf("coco dataset %s: expected image %s", root, filepath.Join(imgRel, filepath.Base(s.ImagePath)))
			}
			return s, nil
		},
	}, nil
}

// cocoFile is the part of an instances_/captions_ file we use.
type cocoFile struct {
	Images *[]struct {
		ID       int64  `json:"id"`
		FileName string `json:"file_name"`
		Width    int    `json:"width"`
		Height   int    `json:"height"`
	} `json:"images"`
	Annotations *[]struct {
		ID         int64     `json:"id"`
		ImageID    int64     `json:"image_id"`
		CategoryID int       `json:"category_id"`
		BBox       []float64 `json:"bbox"`
		IsCrowd    int       `json:"iscrowd"`
		Caption    *string   `json:"caption"`
	} `json:"annotations"`
	Categories []struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	} `json:"categories"`
}

// cocoIndex gathers samples from one or both annotation files, keeping
// annotation ids beside objects and captions so they can be sorted.
type cocoIndex struct {
	byID   map[int64]*Sample
	cats   map[int]string
	objIDs map[int64][]int64
	capIDs map[int64][]int64
}

func (x *cocoIndex) add(path string, instances bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return badinput.Errorf("%s: %v", path, err)
	}
	var f cocoFile
	if err := json.Unmarshal(data, &f); err != nil {
		return badinput.Errorf("%s: malformed COCO annotation JSON: %s", path, jsonErr(data, err))
	}
	if f.Images == nil || f.Annotations == nil {
		return badinput.Errorf("%s: not a COCO annotation file (no \"images\" or \"annotations\" array)", path)
	}
	if x.objIDs == nil {
		x.objIDs, x.capIDs = map[int64][]int64{}, map[int64][]int64{}
	}
	for _, im := range *f.Images {
		if im.FileName == "" || strings.ContainsAny(im.FileName, `/\`) {
			return badinput.Errorf("%s: image %d has bad file_name %q", path, im.ID, im.FileName)
		}
		if old, ok := x.byID[im.ID]; ok {
			if filepath.Base(old.ImagePath) != im.FileName {
				return badinput.Errorf("%s: image %d is %s here but %s in the other annotation file", path, im.ID, im.FileName, old.ImagePath)
			}
			continue
		}
		x.byID[im.ID] = &Sample{ID: strconv.FormatInt(im.ID, 10), ImagePath: im.FileName, Width: im.Width, Height: im.Height}
	}
	for _, c := range f.Categories {
		x.cats[c.ID] = c.Name
	}
	for _, a := range *f.Annotations {
		s, ok := x.byID[a.ImageID]
		if !ok {
			return badinput.Errorf("%s: annotation %d refers to unknown image %d", path, a.ID, a.ImageID)
		}
		if !instances {
			if a.Caption == nil {
				return badinput.Errorf("%s: caption annotation %d has no caption", path, a.ID)
			}
			s.Captions = append(s.Captions, *a.Caption)
			x.capIDs[a.ImageID] = append(x.capIDs[a.ImageID], a.ID)
			continue
		}
		name, ok := x.cats[a.CategoryID]
		if !ok {
			return badinput.Errorf("%s: annotation %d has unknown category %d", path, a.ID, a.CategoryID)
		}
		if len(a.BBox) != 4 || a.BBox[2] < 0 || a.BBox[3] < 0 {
			return badinput.Errorf("%s: annotation %d has bbox %v, want [x, y, w, h] with w, h >= 0", path, a.ID, a.BBox)
		}
		b := a.BBox
		s.Objects = append(s.Objects, Object{
			Label: name, CategoryID: a.CategoryID, Crowd: a.IsCrowd != 0,
			Box: Box{XMin: b[0], YMin: b[1], XMax: b[0] + b[2], YMax: b[1] + b[3]},
		})
		x.objIDs[a.ImageID] = append(x.objIDs[a.ImageID], a.ID)
	}
	return nil
}

// sorted returns the samples by image id, objects and captions by
// annotation id: the files themselves are in no useful order.
func (x *cocoIndex) sorted() []Sample {
	ids := make([]int64, 0, len(x.byID))
	for id := range x.byID {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]Sample, len(ids))
	for i, id := range ids {
		s := x.byID[id]
		sortByKeys(s.Objects, x.objIDs[id])
		sortByKeys(s.Captions, x.capIDs[id])
		out[i] = *s
	}
	return out
}

// sortByKeys sorts vs by the parallel keys, stably.
func sortByKeys[T any](vs []T, keys []int64) {
	order := make([]int, len(vs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return compareInt64(keys[a], keys[b]) })
	sorted := make([]T, len(vs))
	for i, o := range order {
		sorted[i] = vs[o]
	}
	copy(vs, sorted)
}

func compareInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// jsonErr words a decoding error with a line number where there is one.
func jsonErr(data []byte, err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return "line " + strconv.Itoa(lineAt(data, se.Offset)) + ": " + se.Error()
	case errors.As(err, &te):
		return "line " + strconv.Itoa(lineAt(data, te.Offset)) + ": " + te.Error()
	}
	return err.Error()
}

func lineAt(data []byte, off int64) int {
	off = min(off, int64(len(data)))
	return 1 + strings.Count(string(data[:off]), "\n")
}
