package dataset

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/multisc/multisc/bindings/badinput"
)

// KodakCount is the number of images in Kodak24.
const KodakCount = 24

// OpenKodak opens the Kodak24 set: a folder holding kodim01.png …
// kodim24.png (other files are ignored). All 24 must be present.
func OpenKodak(root string, opt Options) (Dataset, error) {
	if err := checkCommon("kodak", root, opt); err != nil {
		return nil, err
	}
	if err := noSplit("kodak", opt); err != nil {
		return nil, err
	}
	names := make([]string, KodakCount)
	for i := range names {
		names[i] = fmt.Sprintf("kodim%02d.png", i+1)
		if err := needFile("kodak", root, names[i]); err != nil {
			return nil, err
		}
	}
	return fileSeq("kodak", root, names, opt), nil
}

// imageExts are the file extensions OpenFolder treats as images (matched
// case-insensitively): the formats imageio decodes.
var imageExts = []string{".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp"}

// OpenFolder opens any folder of images: its files with an image extension,
// sorted by name (byte order). Subfolders and hidden files are skipped.
func OpenFolder(root string, opt Options) (Dataset, error) {
	if err := checkCommon("folder", root, opt); err != nil {
		return nil, err
	}
	if err := noSplit("folder", opt); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(root) // sorted by file name
	if err != nil {
		return nil, badinput.Errorf("folder dataset %s: %v", root, err)
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, ".") || !slices.Contains(imageExts, strings.ToLower(filepath.Ext(n))) {
			continue
		}
		if e.Type().IsRegular() || (e.Type()&os.ModeSymlink != 0 && isFile(filepath.Join(root, n))) {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return nil, badinput.Errorf("folder dataset %s: expected image files (%s), found none", root, strings.Join(imageExts, " "))
	}
	return fileSeq("folder", root, names, opt), nil
}

// fileSeq is a dataset of plain image files; the id is the file stem.
func fileSeq(kind, root string, names []string, opt Options) Dataset {
	return &seq{
		kind: kind, root: root, n: limit(len(names), opt),
		sample: func(i int) (Sample, error) {
			p := filepath.Join(root, names[i])
			s := Sample{ID: strings.TrimSuffix(names[i], filepath.Ext(names[i])), ImagePath: p}
			if !isFile(p) {
				return s, badinput.Errorf("%s dataset %s: image %s disappeared", kind, root, names[i])
			}
			return s, nil
		},
	}
}
