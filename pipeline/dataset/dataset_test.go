package dataset

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/multisc/multisc/bindings/badinput"
)

// collect drains a dataset, failing the test on any error.
func collect(t *testing.T, d Dataset) []Sample {
	t.Helper()
	var out []Sample
	for s, err := range d.Samples() {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if len(out) != d.Len() {
		t.Fatalf("yielded %d samples, Len() = %d", len(out), d.Len())
	}
	return out
}

func ids(ss []Sample) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.ID)
	}
	return out
}

func TestOrderAndLimit(t *testing.T) {
	tests := []struct {
		kind, root string
		opt        Options
		want       []string
	}{
		{"voc", "testdata/voc", Options{}, []string{"2007_000033", "2008_000003", "2007_000042"}},
		{"voc", "testdata/voc/VOCdevkit", Options{Split: "val"}, []string{"2007_000033", "2008_000003", "2007_000042"}},
		{"voc", "testdata/voc/VOCdevkit/VOC2012", Options{Split: "Main/train"}, []string{"2007_000032", "2008_000002"}},
		{"voc", "testdata/voc", Options{Split: "trainval", Limit: 2}, []string{"2007_000032", "2007_000033"}},
		{"voc", "testdata/voc", Options{Split: "Segmentation/val"}, []string{"2007_000033", "2007_000042"}},
		{"coco", "testdata/coco", Options{}, []string{"139", "285", "632"}},
		{"coco", "testdata/coco", Options{Split: "train"}, []string{"9", "25"}},
		{"coco", "testdata/coco", Options{Limit: 1}, []string{"139"}},
		{"kodak", "testdata/kodak", Options{Limit: 3}, []string{"kodim01", "kodim02", "kodim03"}},
		{"folder", "testdata/folder", Options{}, []string{"A", "b", "c"}}, // byte order: upper case first
		{"folder", "testdata/folder", Options{Limit: 99}, []string{"A", "b", "c"}},
	}
	for _, tc := range tests {
		t.Run(tc.kind+" "+tc.root+" "+tc.opt.Split, func(t *testing.T) {
			d, err := Open(tc.kind, tc.root, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			first := collect(t, d)
			if got := ids(first); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ids %v, want %v", got, tc.want)
			}
			for i, s := range first {
				if s.Index != i {
					t.Fatalf("sample %d has Index %d", i, s.Index)
				}
				if _, err := s.Image(); err != nil {
					t.Fatalf("sample %s: %v", s.ID, err)
				}
			}
			if again := collect(t, d); !reflect.DeepEqual(first, again) {
				t.Fatal("second pass differs from the first")
			}
		})
	}
	d, err := OpenKodak("testdata/kodak", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if all := collect(t, d); len(all) != KodakCount || all[23].ID != "kodim24" {
		t.Fatalf("kodak: %d samples, last %q", len(all), all[len(all)-1].ID)
	}
}

// TestVOCAnnotations checks boxes, flags and masks against gen_tiny.py.
func TestVOCAnnotations(t *testing.T) {
	d, err := OpenVOC("testdata/voc", Options{Split: "trainval"})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]Sample{}
	for _, s := range collect(t, d) {
		byID[s.ID] = s
	}
	s := byID["2007_000032"]
	want := []Object{
		{Label: "aeroplane", Pose: "Frontal", Box: Box{2, 3, 11, 9}},
		{Label: "person", Pose: "Unspecified", Truncated: true, Box: Box{12, 5, 16, 12}},
	}
	if !reflect.DeepEqual(s.Objects, want) || s.Width != 16 || s.Height != 12 {
		t.Fatalf("2007_000032: %dx%d %+v", s.Width, s.Height, s.Objects)
	}
	if got := byID["2007_000033"].Objects[0].Box; got != (Box{1, 1, 15.5, 10}) { // fractional VOC2012 coordinates
		t.Fatalf("fractional box %+v", got)
	}
	if o := byID["2007_000042"].Objects[1]; !o.Difficult || o.Truncated {
		t.Fatalf("flags %+v", o)
	}
	if byID["2008_000003"].SegmentationPath != "" || byID["2007_000042"].SegmentationPath == "" {
		t.Fatal("segmentation paths wrong")
	}
	m, err := byID["2007_000033"].Segmentation()
	if err != nil {
		t.Fatal(err)
	}
	// aeroplane (class 1) box x 1–15, y 1–10 (1-based): border 255 (void),
	// inside 1, outside 0. Palette entry 1 is VOC's (128, 0, 0).
	for _, c := range []struct{ x, y, want int }{{0, 0, 255}, {5, 5, 1}, {15, 11, 0}, {14, 9, 255}} {
		if got := int(m.ColorIndexAt(c.x, c.y)); got != c.want {
			t.Errorf("mask (%d,%d) = %d, want %d", c.x, c.y, got, c.want)
		}
	}
	if r, g, b, _ := m.Palette[1].RGBA(); r>>8 != 128 || g != 0 || b != 0 {
		t.Errorf("palette[1] = %v", m.Palette[1])
	}
	if _, err := byID["2008_000003"].Segmentation(); err == nil {
		t.Error("Segmentation without a mask succeeded")
	}
}

// TestCOCOAnnotations checks captions (five per image, annotation-id
// order), boxes converted from [x, y, w, h], categories and crowd flags.
func TestCOCOAnnotations(t *testing.T) {
	d, err := OpenCOCO("testdata/coco", Options{})
	if err != nil {
		t.Fatal(err)
	}
	all := collect(t, d)
	s632, s139, s285 := all[2], all[0], all[1]
	if len(s632.Captions) != 5 || len(s139.Captions) != 6 || len(s285.Captions) != 5 {
		t.Fatalf("caption counts %d %d %d", len(s632.Captions), len(s139.Captions), len(s285.Captions))
	}
	// gen_tiny.py gives caption j the id base+(5−j)·3, so id order reverses
	// j; image 139 also has the non-ASCII caption with id 1, which sorts first.
	if s632.Captions[0] != "A man is riding his bike on the street." || s632.Captions[4] != "A man riding a bicycle down a street." {
		t.Fatalf("632 captions %q", s632.Captions)
	}
	if s139.Captions[0] != "Café scene: naïve art on the wall — 東京." {
		t.Fatalf("139 first caption %q", s139.Captions[0])
	}
	if len(s632.Objects) != 1 || len(s139.Objects) != 2 || len(s285.Objects) != 3 {
		t.Fatalf("object counts %d %d %d", len(s632.Objects), len(s139.Objects), len(s285.Objects))
	}
	want := Object{Label: "person", CategoryID: 1, Crowd: true, Box: Box{3.5, 2.25, 9.5, 7.75}}
	if got := s285.Objects[2]; got != want {
		t.Fatalf("285 object 3 %+v, want %+v", got, want)
	}
	if s139.Objects[0].Label != "bicycle" || s139.Width != 16 || s139.Height != 12 {
		t.Fatalf("139 %+v", s139)
	}
	if filepath.Base(s139.ImagePath) != "000000000139.jpg" || filepath.Base(filepath.Dir(s139.ImagePath)) != "val2017" {
		t.Fatalf("image path %s", s139.ImagePath)
	}
}

// TestCOCOCaptionsOnly: the captions file alone is a usable layout.
func TestCOCOCaptionsOnly(t *testing.T) {
	root := copyTree(t, "coco")
	os.Remove(filepath.Join(root, "annotations", "instances_val2017.json"))
	d, err := OpenCOCO(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	all := collect(t, d)
	if len(all) != 3 || len(all[0].Objects) != 0 || len(all[0].Captions) != 6 {
		t.Fatalf("%d samples, %d objects, %d captions", len(all), len(all[0].Objects), len(all[0].Captions))
	}
}

// copyTree copies testdata/name into a temporary folder to be damaged.
func copyTree(t *testing.T, name string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), name)
	if err := os.CopyFS(dst, os.DirFS(filepath.Join("testdata", name))); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestBadInput covers each bad-layout and bad-file class. Errors may come
// from Open or from the iteration (annotation files are read lazily); either
// way they must be badinput errors naming what was expected.
func TestBadInput(t *testing.T) {
	voc := func(t *testing.T) string { return copyTree(t, "voc") }
	vocDir := func(root string) string { return filepath.Join(root, "VOCdevkit", "VOC2012") }
	coco := func(t *testing.T) string { return copyTree(t, "coco") }
	write := func(t *testing.T, path, data string) {
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name  string
		kind  string
		opt   Options
		setup func(t *testing.T) string // returns the root
		want  []string
	}{
		{"unknown kind", "imagenet", Options{}, func(*testing.T) string { return "testdata" }, []string{"unknown dataset kind", "imagenet"}},
		{"missing root", "folder", Options{}, func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope") }, []string{"does not exist"}},
		{"root is a file", "kodak", Options{}, func(*testing.T) string { return "testdata/gen_tiny.py" }, []string{"is a file"}},
		{"negative limit", "kodak", Options{Limit: -1}, func(*testing.T) string { return "testdata/kodak" }, []string{"--limit"}},
		{"voc wrong layout", "voc", Options{}, func(*testing.T) string { return "testdata/kodak" }, []string{"expected folder VOCdevkit/VOC2012/JPEGImages"}},
		{"voc missing split", "voc", Options{Split: "test"}, func(*testing.T) string { return "testdata/voc" }, []string{"expected split file", "ImageSets/Main/test.txt"}},
		{"voc bad split", "voc", Options{Split: "../x"}, func(*testing.T) string { return "testdata/voc" }, []string{"bad --split"}},
		{"voc no annotations folder", "voc", Options{}, func(t *testing.T) string {
			r := voc(t)
			os.RemoveAll(filepath.Join(vocDir(r), "Annotations"))
			return r
		}, []string{"expected folder Annotations"}},
		{"voc malformed xml", "voc", Options{}, func(t *testing.T) string {
			r := voc(t)
			write(t, filepath.Join(vocDir(r), "Annotations", "2008_000003.xml"), "<annotation><size><width>16</width>")
			return r
		}, []string{"2008_000003.xml", "malformed VOC annotation XML"}},
		{"voc non-numeric box", "voc", Options{}, func(t *testing.T) string {
			r := voc(t)
			p := filepath.Join(vocDir(r), "Annotations", "2007_000033.xml")
			b, _ := os.ReadFile(p)
			write(t, p, strings.Replace(string(b), "<xmin>1</xmin>", "<xmin>one</xmin>", 1))
			return r
		}, []string{"2007_000033.xml", "malformed"}},
		{"voc missing annotation", "voc", Options{}, func(t *testing.T) string {
			r := voc(t)
			os.Remove(filepath.Join(vocDir(r), "Annotations", "2007_000042.xml"))
			return r
		}, []string{"expected annotation Annotations/2007_000042.xml"}},
		{"voc missing image", "voc", Options{}, func(t *testing.T) string {
			r := voc(t)
			os.Remove(filepath.Join(vocDir(r), "JPEGImages", "2008_000003.jpg"))
			return r
		}, []string{"expected image JPEGImages/2008_000003.jpg"}},
		{"voc missing mask", "voc", Options{Split: "Segmentation/val"}, func(t *testing.T) string {
			r := voc(t)
			os.Remove(filepath.Join(vocDir(r), "SegmentationClass", "2007_000042.png"))
			return r
		}, []string{"expected mask SegmentationClass/2007_000042.png"}},
		{"coco wrong layout", "coco", Options{}, func(*testing.T) string { return "testdata/voc" }, []string{"expected file annotations/instances_val2017.json or annotations/captions_val2017.json"}},
		{"coco bad split", "coco", Options{Split: "test"}, func(*testing.T) string { return "testdata/coco" }, []string{"--split must be train or val"}},
		{"coco no image folder", "coco", Options{}, func(t *testing.T) string {
			r := coco(t)
			os.RemoveAll(filepath.Join(r, "val2017"))
			return r
		}, []string{"expected image folder val2017"}},
		{"coco malformed json", "coco", Options{}, func(t *testing.T) string {
			r := coco(t)
			write(t, filepath.Join(r, "annotations", "captions_val2017.json"), "{\"images\": [\n{\"id\": 1,\n")
			return r
		}, []string{"captions_val2017.json", "malformed COCO annotation JSON", "line"}},
		{"coco wrong json type", "coco", Options{}, func(t *testing.T) string {
			r := coco(t)
			write(t, filepath.Join(r, "annotations", "instances_val2017.json"), `{"images": 5, "annotations": []}`)
			return r
		}, []string{"instances_val2017.json", "malformed COCO annotation JSON"}},
		{"coco not coco", "coco", Options{}, func(t *testing.T) string {
			r := coco(t)
			write(t, filepath.Join(r, "annotations", "instances_val2017.json"), `{"info": {}}`)
			return r
		}, []string{"instances_val2017.json", "not a COCO annotation file"}},
		{"coco dangling annotation", "coco", Options{}, func(t *testing.T) string {
			r := coco(t)
			write(t, filepath.Join(r, "annotations", "captions_val2017.json"),
				`{"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [{"id": 7, "image_id": 2, "caption": "x"}]}`)
			return r
		}, []string{"captions_val2017.json", "annotation 7 refers to unknown image 2"}},
		{"coco missing image", "coco", Options{}, func(t *testing.T) string {
			r := coco(t)
			os.Remove(filepath.Join(r, "val2017", "000000000285.jpg"))
			return r
		}, []string{"expected image", "000000000285.jpg"}},
		{"kodak missing image", "kodak", Options{}, func(t *testing.T) string {
			r := copyTree(t, "kodak")
			os.Remove(filepath.Join(r, "kodim07.png"))
			return r
		}, []string{"expected file kodim07.png"}},
		{"kodak split", "kodak", Options{Split: "val"}, func(*testing.T) string { return "testdata/kodak" }, []string{"no splits"}},
		{"folder without images", "folder", Options{}, func(*testing.T) string { return "testdata/voc" }, []string{"expected image files"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := tc.setup(t)
			d, err := Open(tc.kind, root, tc.opt)
			if err == nil {
				for _, e := range d.Samples() {
					if e != nil {
						err = e
					}
				}
			}
			if err == nil {
				t.Fatal("no error")
			}
			if !badinput.Is(err) {
				t.Fatalf("%v is not a badinput error", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans lines: %q", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
