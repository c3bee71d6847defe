package dataset

import (
	"bufio"
	"encoding/xml"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/multisc/multisc/bindings/badinput"
)

// OpenVOC opens PASCAL VOC2012 as unpacked from VOCtrainval_11-May-2012.tar.
// root may be the folder holding VOCdevkit, VOCdevkit itself, or VOC2012.
//
// Splits: "train", "val" (default), "trainval" read ImageSets/Main/<split>.txt
// (the detection lists; every image there has Annotations/<id>.xml);
// "Segmentation/train", "Segmentation/val", "Segmentation/trainval" read
// ImageSets/Segmentation/<split>.txt (every image there has
// SegmentationClass/<id>.png). "Main/<split>" is accepted as a synonym.
// Samples come in split-file order.
func OpenVOC(root string, opt Options) (Dataset, error) {
	if err := checkCommon("voc", root, opt); err != nil {
		return nil, err
	}
	dir := ""
	for _, c := range []string{filepath.Join(root, "VOCdevkit", "VOC2012"), filepath.Join(root, "VOC2012"), root} {
		if isDir(filepath.Join(c, "JPEGImages")) {
			dir = c
			break
		}
	}
	if dir == "" {
		return nil, badinput.Errorf("voc dataset %s: expected folder VOCdevkit/VOC2012/JPEGImages (or VOC2012/JPEGImages, or JPEGImages)", root)
	}

	set, split := "Main", opt.Split
	if split == "" {
		split = "val"
	}
	if s, ok := strings.CutPrefix(split, "Segmentation/"); ok {
		set, split = "Segmentation", s
	} else if s, ok := strings.CutPrefix(split, "Main/"); ok {
		split = s
	}
	if split == "" || strings.ContainsAny(split, `/\`) || split == "." || split == ".." {
		return nil, badinput.Errorf("voc dataset: bad --split %q", opt.Split)
	}
	listRel := filepath.Join("ImageSets", set, split+".txt")
	ids, err := readIDList(dir, listRel)
	if err != nil {
		return nil, err
	}
	need := "Annotations"
	if set == "Segmentation" {
		need = "SegmentationClass"
	}
	if !isDir(filepath.Join(dir, need)) {
		return nil, badinput.Errorf("voc dataset %s: expected folder %s", dir, need)
	}

	name := split
	if set == "Segmentation" {
		name = "Segmentation/" + split
	}
	return &seq{
		kind: "voc", root: dir, split: name, n: limit(len(ids), opt),
		sample: func(i int) (Sample, error) { return vocSample(dir, ids[i], set == "Segmentation") },
	}, nil
}

// readIDList reads an ImageSets list: one image id per line, optionally
// followed by a label column (the per-class files); blank lines are skipped.
func readIDList(dir, rel string) ([]string, error) {
	path := filepath.Join(dir, rel)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, badinput.Errorf("voc dataset %s: expected split file %s", dir, rel)
	}
	if err != nil {
		return nil, badinput.Errorf("%s: %v", path, err)
	}
	defer f.Close()
	var ids []string
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		id := fields[0]
		if strings.ContainsAny(id, `/\`) || id == "." || id == ".." {
			return nil, badinput.Errorf("%s:%d: %q is not an image id", path, line, id)
		}
		ids = append(ids, id)
	}
	if err := sc.Err(); err != nil {
		return nil, badinput.Errorf("%s: %v", path, err)
	}
	if len(ids) == 0 {
		return nil, badinput.Errorf("%s: split file lists no images", path)
	}
	return ids, nil
}

// vocSample builds one sample: the image must exist; the XML is required for
// detection splits and read when present for segmentation splits; the mask
// is required for segmentation splits and recorded when present otherwise.
func vocSample(dir, id string, segSplit bool) (Sample, error) {
	s := Sample{ID: id, ImagePath: filepath.Join(dir, "JPEGImages", id+".jpg")}
	if !isFile(s.ImagePath) {
		return s, badinput.Errorf("voc dataset %s: expected image JPEGImages/%s.jpg", dir, id)
	}
	xmlPath := filepath.Join(dir, "Annotations", id+".xml")
	switch {
	case isFile(xmlPath):
		if err := parseVOCXML(xmlPath, &s); err != nil {
			return s, err
		}
	case !segSplit:
		return s, badinput.Errorf("voc dataset %s: expected annotation Annotations/%s.xml", dir, id)
	}
	segPath := filepath.Join(dir, "SegmentationClass", id+".png")
	switch {
	case isFile(segPath):
		s.SegmentationPath = segPath
	case segSplit:
		return s, badinput.Errorf("voc dataset %s: expected mask SegmentationClass/%s.png", dir, id)
	}
	return s, nil
}

// vocAnnotation is the part of a VOC XML file we use.
type vocAnnotation struct {
	XMLName xml.Name `xml:"annotation"`
	Size    struct {
		Width  int `xml:"width"`
		Height int `xml:"height"`
	} `xml:"size"`
	Objects []struct {
		Name      string `xml:"name"`
		Pose      string `xml:"pose"`
		Truncated int    `xml:"truncated"`
		Difficult int    `xml:"difficult"`
		BndBox    *struct {
			XMin float64 `xml:"xmin"`
			YMin float64 `xml:"ymin"`
			XMax float64 `xml:"xmax"`
			YMax float64 `xml:"ymax"`
		} `xml:"bndbox"`
	} `xml:"object"`
}

func parseVOCXML(path string, s *Sample) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return badinput.Errorf("%s: %v", path, err)
	}
	var a vocAnnotation
	if err := xml.Unmarshal(data, &a); err != nil {
		return badinput.Errorf("%s: malformed VOC annotation XML: %v", path, err)
	}
	s.Width, s.Height = a.Size.Width, a.Size.Height
	for k, o := range a.Objects {
		if o.Name == "" || o.BndBox == nil {
			return badinput.Errorf("%s: object %d lacks a name or a bndbox", path, k+1)
		}
		b := Box{o.BndBox.XMin, o.BndBox.YMin, o.BndBox.XMax, o.BndBox.YMax}
		if b.XMax < b.XMin || b.YMax < b.YMin {
			return badinput.Errorf("%s: object %d (%s) has an inverted bndbox", path, k+1, o.Name)
		}
		s.Objects = append(s.Objects, Object{
			Label: o.Name, Box: b, Pose: o.Pose,
			Truncated: o.Truncated != 0, Difficult: o.Difficult != 0,
		})
	}
	return nil
}
