package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/multisc/multisc/pipeline/dataset"
)

// tinyData is a dataset from pipeline/dataset/testdata (real layouts).
func tinyData(name string) string {
	return filepath.Join("..", "..", "pipeline", "dataset", "testdata", name)
}

func TestDatasetLs(t *testing.T) {
	tests := []struct {
		args  []string
		lines []string // expected sample lines (after the header), as prefixes
	}{
		{[]string{"--kind", "voc", "--root", tinyData("voc")}, []string{
			"0\t2007_000033\tJPEGImages/2007_000033.jpg\t16x12\tobjects=1\tseg=yes",
			"1\t2008_000003\tJPEGImages/2008_000003.jpg\t16x12\tobjects=2\tseg=no",
			"2\t2007_000042\t"}},
		{[]string{"--kind", "voc", "--root", tinyData("voc"), "--split", "Segmentation/train"}, []string{"0\t2007_000032\t"}},
		{[]string{"--kind", "coco", "--root", tinyData("coco"), "--limit", "2"}, []string{
			"0\t139\tval2017/000000000139.jpg\t16x12\tobjects=2\tcaptions=6", "1\t285\t"}},
		{[]string{"--kind", "kodak", "--root", tinyData("kodak"), "--limit", "2"}, []string{"0\tkodim01\tkodim01.png", "1\tkodim02\tkodim02.png"}},
		{[]string{"--kind", "folder", "--root", tinyData("folder")}, []string{"0\tA\tA.JPG", "1\tb\tb.png", "2\tc\tc.gif"}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, stderr, code := runCLI(t, append([]string{"dataset", "ls"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
			if !strings.HasPrefix(lines[0], "# ") || len(lines) != len(tc.lines)+1 {
				t.Fatalf("output:\n%s", out)
			}
			for i, want := range tc.lines {
				if !strings.HasPrefix(lines[i+1], want) {
					t.Fatalf("line %d = %q, want prefix %q", i+1, lines[i+1], want)
				}
			}
		})
	}
}

func TestDatasetLsJSON(t *testing.T) {
	out, stderr, code := runCLI(t, "dataset", "ls", "--kind", "coco", "--root", tinyData("coco"), "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var l struct {
		Kind, Split string
		Count       int
		Samples     []dataset.Sample
	}
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		t.Fatal(err)
	}
	if l.Kind != "coco" || l.Split != "val" || l.Count != 3 || len(l.Samples[2].Captions) != 5 || l.Samples[1].Objects[0].Label == "" {
		t.Fatalf("listing %+v", l)
	}
}

func TestDatasetBadInput(t *testing.T) {
	// A VOC copy with one malformed annotation, and a COCO copy with
	// malformed JSON.
	voc := filepath.Join(t.TempDir(), "voc")
	if err := os.CopyFS(voc, os.DirFS(tinyData("voc"))); err != nil {
		t.Fatal(err)
	}
	badXML := filepath.Join(voc, "VOCdevkit", "VOC2012", "Annotations", "2008_000003.xml")
	os.WriteFile(badXML, []byte("<annotation><object>"), 0o644)
	coco := filepath.Join(t.TempDir(), "coco")
	if err := os.CopyFS(coco, os.DirFS(tinyData("coco"))); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(coco, "annotations", "instances_val2017.json"), []byte(`{"images": [`), 0o644)

	tests := []struct {
		name      string
		args      []string
		fragments []string
	}{
		{"wrong layout voc", []string{"--kind", "voc", "--root", tinyData("coco")}, []string{"expected folder VOCdevkit/VOC2012/JPEGImages"}},
		{"wrong layout coco", []string{"--kind", "coco", "--root", tinyData("kodak")}, []string{"expected file annotations/instances_val2017.json"}},
		{"wrong layout kodak", []string{"--kind", "kodak", "--root", tinyData("folder")}, []string{"expected file kodim01.png"}},
		{"malformed xml", []string{"--kind", "voc", "--root", voc}, []string{"2008_000003.xml", "malformed VOC annotation XML"}},
		{"malformed json", []string{"--kind", "coco", "--root", coco}, []string{"instances_val2017.json", "malformed COCO annotation JSON"}},
		{"missing split", []string{"--kind", "voc", "--root", tinyData("voc"), "--split", "test"}, []string{"ImageSets/Main/test.txt"}},
		{"unknown kind", []string{"--kind", "imagenet", "--root", tinyData("voc")}, []string{"unknown dataset kind", "imagenet"}},
		{"split on kodak", []string{"--kind", "kodak", "--root", tinyData("kodak"), "--split", "val"}, []string{"no splits"}},
		{"negative limit", []string{"--kind", "folder", "--root", tinyData("folder"), "--limit", "-2"}, []string{"--limit"}},
		{"missing root flag", []string{"--kind", "voc"}, []string{"--root"}},
		{"missing root dir", []string{"--kind", "folder", "--root", filepath.Join(t.TempDir(), "gone")}, []string{"gone", "does not exist"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := runCLI(t, append([]string{"dataset", "ls"}, tc.args...)...)
			wantBadInput(t, stderr, code, tc.fragments...)
			if out != "" {
				t.Fatalf("partial listing on error:\n%s", out)
			}
		})
	}
}
