package spelling

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/multisc/multisc/bindings/badinput"
)

var captions = []string{
	"a red car parked on the street",
	"a man riding a wave on top of a surfboard",
	"two dogs playing in the grass near a tree",
	"a woman holding an umbrella in the rain",
	"a plate of food with broccoli and rice",
	"the cat is sleeping on the couch",
	"a group of people standing around a kitchen",
	"a train traveling down the tracks next to a forest",
}

func opts() Options {
	return Options{SNRs: []float64{0, 4, 8, 14}, Channels: []string{"awgn"}, Mods: []string{"qpsk"},
		Codes: []string{"none"}, Seed: 7, Valid: 0.25, Repeats: 2}
}

func TestLevenshtein(t *testing.T) {
	for _, tc := range []struct {
		got, want  string
		chars, wds int
	}{
		{"a rfd caz", "a red car", 2, 2},
		{"", "abc", 3, 1},
		{"abc", "abc", 0, 0},
		{"ab c", "abc", 1, 2},
		{"héllo wörld", "hello world", 2, 2},
	} {
		c, _ := CharErrors(tc.got, tc.want)
		w, _ := WordErrors(tc.got, tc.want)
		if c != tc.chars || w != tc.wds {
			t.Errorf("%q vs %q: %d chars, %d words; want %d, %d", tc.got, tc.want, c, w, tc.chars, tc.wds)
		}
	}
}

// TestErrorRatesFall: on an uncoded QPSK AWGN link, CER and WER fall as the
// SNR rises, and the highest SNR leaves most pairs identical.
func TestErrorRatesFall(t *testing.T) {
	set, err := Build(captions, opts(), nil)
	if err != nil {
		t.Fatal(err)
	}
	rows := set.Summary
	if len(rows) != 4 {
		t.Fatalf("%d summary rows, want 4", len(rows))
	}
	for i := 1; i < len(rows); i++ {
		if !(rows[i].CER < rows[i-1].CER) || !(rows[i].WER <= rows[i-1].WER) {
			t.Errorf("SNR %v → %v: CER %v → %v, WER %v → %v: want falling", rows[i-1].SNRdB, rows[i].SNRdB,
				rows[i-1].CER, rows[i].CER, rows[i-1].WER, rows[i].WER)
		}
	}
	if rows[0].CER < 0.01 || rows[0].Identical == rows[0].Pairs {
		t.Errorf("0 dB row %+v: want errors", rows[0])
	}
	if last := rows[len(rows)-1]; last.Identical*2 < last.Pairs {
		t.Errorf("14 dB row %+v: want most pairs error-free", last)
	}
	t.Logf("%+v", rows)
}

// TestDeterministic: same seed → same bytes; another seed → other noise.
func TestDeterministic(t *testing.T) {
	dump := func(o Options) []byte {
		set, err := Build(captions, o, nil)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := WriteJSONL(&b, append(set.Train, set.Valid...)); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	a, b := dump(opts()), dump(opts())
	if !bytes.Equal(a, b) {
		t.Fatal("same seed gave different bytes")
	}
	o := opts()
	o.Seed = 8
	if bytes.Equal(a, dump(o)) {
		t.Fatal("another seed gave the same bytes")
	}
}

// TestAccounting: every generated pair is written, counted as a duplicate
// or counted as a dropped identical pair; splits hold disjoint targets;
// identical pairs are kept unless DropIdentical.
func TestAccounting(t *testing.T) {
	for _, drop := range []bool{false, true} {
		o := opts()
		o.DropIdentical = drop
		set, err := Build(captions, o, nil)
		if err != nil {
			t.Fatal(err)
		}
		written, identicalKept := 0, 0
		for _, r := range set.Summary {
			if r.Pairs != r.Written+r.Duplicates+r.Dropped {
				t.Errorf("row %+v: pairs ≠ written + duplicates + dropped", r)
			}
			if !drop && r.Dropped != 0 {
				t.Errorf("row %+v dropped identical pairs without DropIdentical", r)
			}
			written += r.Written
		}
		if written != len(set.Train)+len(set.Valid) {
			t.Errorf("summary says %d written, files hold %d", written, len(set.Train)+len(set.Valid))
		}
		targets := map[string]int{}
		seen := map[[2]string]bool{}
		for split, ps := range [][]Pair{set.Train, set.Valid} {
			for _, p := range ps {
				if s, ok := targets[p.Target]; ok && s != split {
					t.Errorf("target %q in both splits", p.Target)
				}
				targets[p.Target] = split
				if p.Input == p.Target {
					identicalKept++
				}
				k := [2]string{p.Input, p.Target}
				if seen[k] {
					t.Errorf("duplicate pair %q", k)
				}
				seen[k] = true
			}
		}
		if drop && identicalKept != 0 {
			t.Errorf("DropIdentical kept %d identical pairs", identicalKept)
		}
		if !drop && identicalKept == 0 {
			t.Error("no identical pair kept")
		}
		if len(set.Valid) == 0 || len(set.Train) == 0 {
			t.Errorf("split %d/%d: want both non-empty", len(set.Train), len(set.Valid))
		}
	}
}

func TestReadCaptions(t *testing.T) {
	dir := t.TempDir()
	txt := filepath.Join(dir, "c.txt")
	os.WriteFile(txt, []byte("  a red  car \n\na red car\r\ntwo dogs\n"), 0o644)
	coco := filepath.Join(dir, "captions_val2017.json")
	os.WriteFile(coco, []byte(`{"images": [], "annotations": [{"image_id": 1, "id": 5, "caption": "A cat."}, {"image_id": 1, "id": 6, "caption": "two dogs "}]}`), 0o644)
	for _, tc := range []struct {
		path string
		want []string
	}{{txt, []string{"a red car", "two dogs"}}, {coco, []string{"A cat.", "two dogs"}}} {
		got, err := ReadCaptions(tc.path)
		if err != nil || len(got) != len(tc.want) || got[0] != tc.want[0] || got[1] != tc.want[1] {
			t.Errorf("%s: %q, %v; want %q", tc.path, got, err, tc.want)
		}
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"annotations": [}`), 0o644)
	empty := filepath.Join(dir, "empty.txt")
	os.WriteFile(empty, []byte("\n  \n"), 0o644)
	for _, p := range []string{bad, empty, filepath.Join(dir, "missing.txt")} {
		if _, err := ReadCaptions(p); !badinput.Is(err) {
			t.Errorf("%s: got %v, want a bad-input error", p, err)
		}
	}
}

func TestBuildBadInput(t *testing.T) {
	for _, edit := range []func(*Options){
		func(o *Options) { o.Mods = []string{"8psk"} },
		func(o *Options) { o.Codes = []string{"ldpc-1-1/2"} },
		func(o *Options) { o.Channels = []string{"rician"} },
		func(o *Options) { o.Valid = 1.5 },
		func(o *Options) { o.SNRs = nil },
	} {
		o := opts()
		edit(&o)
		if _, err := Build(captions, o, nil); !badinput.Is(err) {
			t.Errorf("%+v: got %v, want a bad-input error", o, err)
		}
	}
}
