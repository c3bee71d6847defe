package eval

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"

	"github.com/multisc/multisc/bindings/badinput"
	"github.com/multisc/multisc/pipeline"
)

// RowsFile is the file name of a sweep's rows: rows.jsonl for the whole
// sweep, rows-K-of-N.jsonl for shard K of N.
func RowsFile(s Shard) string {
	if s.Whole() {
		return "rows.jsonl"
	}
	return fmt.Sprintf("rows-%d-of-%d.jsonl", s.K, s.N)
}

// rowsFileRE matches the names RowsFile gives.
var rowsFileRE = regexp.MustCompile(`^rows(-([0-9]+)-of-([0-9]+))?\.jsonl$`)

// maxLine bounds one JSONL line (a row with many long captions is a few KB).
const maxLine = 16 << 20

// readRows reads a rows file, calling fn for each row in order (rows are
// not kept, so a resume of a long sweep holds only keys). A last line without its newline, or one that
// does not parse, is a torn write (the process was killed mid-row): it is
// dropped and good is the byte length of the lines before it. Any other
// line that does not parse is a bad-input error naming the file and line.
func readRows(path string, fn func(r *pipeline.Record) error) (good int64, torn bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, badinput.Errorf("%s: %v", path, err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<16)
	for lineNo := 1; ; lineNo++ {
		line, rerr := br.ReadBytes('\n')
		if len(line) > maxLine {
			return 0, false, badinput.Errorf("%s line %d: longer than %d bytes; not a rows file", path, lineNo, maxLine)
		}
		if rerr == io.EOF {
			if len(line) > 0 { // no newline: torn
				return good, true, nil
			}
			return good, false, nil
		}
		if rerr != nil {
			return 0, false, fmt.Errorf("%s: %w", path, rerr)
		}
		var r pipeline.Record
		if perr := json.Unmarshal(line, &r); perr != nil || r.ImageID == "" {
			// The last line may be torn even with a newline byte in it (a
			// caption's text does not contain raw newlines, but be safe).
			if _, peek := br.Peek(1); peek == io.EOF {
				return good, true, nil
			}
			why := "no image_id"
			if perr != nil {
				why = perr.Error()
			}
			return 0, false, badinput.Errorf("%s line %d: not a row (%s)", path, lineNo, why)
		}
		if err := fn(&r); err != nil {
			return good, false, err
		}
		good += int64(len(line))
	}
}

// Canonical returns r without what varies between two runs of the same row:
// Seconds, PeakRSS and Reused (whether the transmission was reused depends
// on where a resumed sweep started). Two runs with the same seed give rows
// whose canonical JSON is byte-identical (on CPU).
func Canonical(r pipeline.Record) pipeline.Record {
	r.Seconds = nil
	r.PeakRSS = 0
	r.Reused = false
	return r
}

// CanonicalJSON is the JSON of Canonical(r).
func CanonicalJSON(r pipeline.Record) []byte {
	b, err := json.Marshal(Canonical(r))
	if err != nil {
		return []byte(fmt.Sprintf("unmarshalable row: %v", err))
	}
	return b
}

// Load reads every rows file in each folder (rows.jsonl and rows-K-of-N.jsonl)
// and returns their union: a torn last line is ignored (the file is not
// changed), a row found twice with the same canonical content is kept once,
// and two different rows for one key are a bad-input error naming both
// files. Rows come in the folders' files' order; see SortRows.
func Load(dirs ...string) ([]pipeline.Record, error) {
	type seen struct {
		file  string
		canon []byte
	}
	where := map[pipeline.Key]seen{}
	var out []pipeline.Record
	for _, dir := range dirs {
		files, err := RowFiles(dir)
		if err != nil {
			return nil, err
		}
		for _, path := range files {
			_, _, err := readRows(path, func(r *pipeline.Record) error {
				k := r.Key()
				c := CanonicalJSON(*r)
				if s, ok := where[k]; ok {
					if !bytes.Equal(s.canon, c) {
						return badinput.Errorf("%s and %s hold different rows for %s; refusing to merge", s.file, path, keyString(k))
					}
					return nil
				}
				where[k] = seen{path, c}
				out = append(out, *r)
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// RowFiles lists a sweep folder's rows files: rows.jsonl first, then the
// shards by N and K.
func RowFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, badinput.Errorf("%s: no such sweep folder", dir)
		}
		return nil, badinput.Errorf("%s: %v", dir, err)
	}
	type named struct {
		name string
		k, n int
	}
	var fs []named
	for _, e := range entries {
		m := rowsFileRE.FindStringSubmatch(e.Name())
		if m == nil || !e.Type().IsRegular() {
			continue
		}
		k, _ := strconv.Atoi(m[2])
		n, _ := strconv.Atoi(m[3])
		fs = append(fs, named{e.Name(), k, n})
	}
	slices.SortFunc(fs, func(a, b named) int {
		if a.n != b.n {
			return a.n - b.n
		}
		return a.k - b.k
	})
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = filepath.Join(dir, f.name)
	}
	return out, nil
}

func keyString(k pipeline.Key) string {
	ds := k.Dataset
	if ds == "" {
		ds = "-"
	}
	return fmt.Sprintf("%s/%s %s %s %g dB", ds, k.ImageID, k.Method, k.Channel, k.SNR)
}
