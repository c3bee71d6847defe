package eval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/multisc/multisc/bindings/atomicfile"
	"github.com/multisc/multisc/bindings/badinput"
	"github.com/multisc/multisc/pipeline"
	"github.com/multisc/multisc/pipeline/dataset"
)

// Runner is the system a sweep drives (pipeline.System): Transmit once per
// image and method, Row once per channel and SNR on that transmission.
type Runner interface {
	Transmit(req pipeline.TransmitRequest) (*pipeline.Transmission, error)
	Row(tx *pipeline.Transmission, channel string, snr float64, seed uint64) (pipeline.Record, error)
}

// SweepFile is the name of the file holding a sweep's parameters.
const SweepFile = "sweep.json"

// SweepVersion is the version of the sweep.json schema.
const SweepVersion = 1

// Params are a sweep's parameters, saved as DIR/sweep.json. A resume (or
// another shard) into the same folder must have the same ones.
type Params struct {
	Version  int       `json:"version"`
	Dataset  string    `json:"dataset"`         // dataset kind: kodak, voc, coco, folder
	Root     string    `json:"root"`            // the dataset's root, absolute
	Split    string    `json:"split,omitempty"` // "" for the kind's default
	Limit    int       `json:"limit,omitempty"` // 0: all images
	Methods  []string  `json:"methods"`
	Channels []string  `json:"channels"`
	SNRs     []float64 `json:"snr_db"`
	Seed     uint64    `json:"seed"`
	// Images are the image ids of the whole sweep (every shard) in dataset
	// order: the plan's order, which merge restores without the dataset.
	Images []string `json:"images"`
	// Models is the models folder the sweep was started with; informative
	// only (rows record each model file's sha256).
	Models string `json:"models,omitempty"`
}

// differs names the first flag whose value differs between two sweeps'
// parameters, with both values; "" if they agree.
func (p *Params) differs(q *Params) string {
	fmtList := func(v []float64) string {
		s := make([]string, len(v))
		for i, x := range v {
			s[i] = fmt.Sprint(x)
		}
		return strings.Join(s, ",")
	}
	type cmp struct {
		flag     string
		old, new string
	}
	for _, c := range []cmp{
		{"--dataset", p.Dataset, q.Dataset},
		{"--root", p.Root, q.Root},
		{"--split", p.Split, q.Split},
		{"--limit", fmt.Sprint(p.Limit), fmt.Sprint(q.Limit)},
		{"--methods", strings.Join(p.Methods, ","), strings.Join(q.Methods, ",")},
		{"--channels", strings.Join(p.Channels, ","), strings.Join(q.Channels, ",")},
		{"--snr", fmtList(p.SNRs), fmtList(q.SNRs)},
		{"--seed", fmt.Sprint(p.Seed), fmt.Sprint(q.Seed)},
	} {
		if c.old != c.new {
			return fmt.Sprintf("%s differs (sweep has %q, this run %q)", c.flag, c.old, c.new)
		}
	}
	if !slices.Equal(p.Images, q.Images) {
		return fmt.Sprintf("--root: the dataset's images changed (sweep has %d, the folder now %d)", len(p.Images), len(q.Images))
	}
	return ""
}

// Sweep is a planned sweep: samples × methods × channels × SNRs, in the
// order image → method → channel → SNR, restricted to a shard.
type Sweep struct {
	Params Params
	Shard  Shard
	Dir    string
	// NoReuse transmits again for every row instead of once per image and
	// method: the same rows (the transmitter is deterministic), slower; it
	// exists to measure what the reuse saves.
	NoReuse bool
	samples []dataset.Sample
	exists  bool // Dir/sweep.json is there (a resume or another shard)
}

// New plans a sweep of ds into dir and checks, before anything is written,
// that it can run: every sample of the dataset is listed (a dataset error is
// returned as it is), dir is a writable folder or can be made one, and a
// sweep.json already in dir has the same parameters (else a bad-input error
// naming the first differing flag). p gives Methods, Channels, SNRs, Seed,
// Limit and Models; the dataset fields and Images are filled from ds.
func New(ds dataset.Dataset, p Params, shard Shard, dir string) (*Sweep, error) {
	switch {
	case len(p.Methods) == 0:
		return nil, badinput.Errorf("--methods is empty")
	case len(p.Channels) == 0:
		return nil, badinput.Errorf("--channels is empty")
	case len(p.SNRs) == 0:
		return nil, badinput.Errorf("--snr is empty")
	case dir == "":
		return nil, badinput.Errorf("--out: no output folder given")
	}
	p.Version = SweepVersion
	p.Dataset, p.Split = ds.Kind(), ds.Split()
	root, err := filepath.Abs(ds.Root())
	if err != nil {
		return nil, badinput.Errorf("--root %s: %v", ds.Root(), err)
	}
	p.Root = root
	if p.Models != "" {
		if m, err := filepath.Abs(p.Models); err == nil {
			p.Models = m
		}
	}
	s := &Sweep{Shard: shard, Dir: dir}
	ids := map[string]bool{}
	for smp, err := range ds.Samples() {
		if err != nil {
			return nil, err
		}
		if ids[smp.ID] {
			return nil, badinput.Errorf("--root %s: two images have the id %q", ds.Root(), smp.ID)
		}
		ids[smp.ID] = true
		s.samples = append(s.samples, smp)
		p.Images = append(p.Images, smp.ID)
	}
	if len(p.Images) == 0 {
		return nil, badinput.Errorf("--root %s: the dataset has no images", ds.Root())
	}
	s.Params = p
	if err := s.checkDir(); err != nil {
		return nil, err
	}
	return s, nil
}

// checkDir checks the output folder without writing anything.
func (s *Sweep) checkDir() error {
	st, err := os.Stat(s.Dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// The folder is made by Run; its parent must take it.
		if err := atomicfile.Check(s.Dir); err != nil {
			return badinput.Errorf("--out %v", err)
		}
		return nil
	case errors.Is(err, syscall.ENOTDIR):
		return badinput.Errorf("--out %s: a folder on its path is a file, not a folder", s.Dir)
	case err != nil:
		return badinput.Errorf("--out %s: %v", s.Dir, err)
	case !st.IsDir():
		return badinput.Errorf("--out %s: is a file, not a folder", s.Dir)
	}
	old, err := ReadParams(s.Dir)
	switch {
	case err == nil:
		if d := old.differs(&s.Params); d != "" {
			return badinput.Errorf("--out %s holds another sweep: %s; resume with the same flags or use another --out", s.Dir, d)
		}
		s.exists = true
	case errors.Is(err, fs.ErrNotExist):
		if files, _ := RowFiles(s.Dir); len(files) > 0 {
			return badinput.Errorf("--out %s holds %s but no %s; use another --out", s.Dir, filepath.Base(files[0]), SweepFile)
		}
	default:
		return badinput.Errorf("--out %v", err)
	}
	if err := atomicfile.Check(filepath.Join(s.Dir, RowsFile(s.Shard))); err != nil {
		return badinput.Errorf("--out %v", err)
	}
	return nil
}

// ReadParams reads DIR/sweep.json; a missing file is fs.ErrNotExist.
func ReadParams(dir string) (*Params, error) {
	path := filepath.Join(dir, SweepFile)
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, badinput.Errorf("%s: %v", path, err)
	}
	var p Params
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, badinput.Errorf("%s: not a sweep file (%v)", path, err)
	}
	if p.Version != SweepVersion {
		return nil, badinput.Errorf("%s: sweep version %d, this build reads %d", path, p.Version, SweepVersion)
	}
	return &p, nil
}

func writeParams(dir string, p *Params) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, SweepFile), 0o644, func(f *os.File) error {
		_, err := f.Write(append(b, '\n'))
		return err
	})
}

// Rows is the number of rows of the shard (or whole sweep).
func (s *Sweep) Rows() int {
	n := 0
	for i := range s.samples {
		if s.Shard.Has(i) {
			n++
		}
	}
	return n * len(s.Params.Methods) * len(s.Params.Channels) * len(s.Params.SNRs)
}

// Summary tells what a Run did.
type Summary struct {
	File     string // the rows file
	Rows     int    // rows of the shard (or sweep)
	Skipped  int    // rows already present (resume)
	Computed int    // rows written by this run
	Errors   int    // rows written with Error set by this run
	Torn     bool   // a torn last line was cut off
	// Transmits counts the Transmit calls of this run.
	Transmits int
}

var errBusy = errors.New("rows file locked by another process")

// ErrInterrupted is returned (wrapped) when ctx ends a Run early; every row
// written so far is complete and a new Run resumes after it.
var ErrInterrupted = errors.New("sweep interrupted")

// Run executes the sweep, resuming after the rows already in the rows file.
// Each row is appended and fsynced as soon as it is computed; a torn last
// line left by a killed run is cut off first. An image that fails to load,
// and a bad-input error from Transmit or Row (an image the system cannot
// take), become rows with Error set and the sweep goes on; any other error
// of the runner ends the Run (the rows written stay). ctx is checked before
// every transmission and row.
func (s *Sweep) Run(ctx context.Context, r Runner, prog *Progress) (sum Summary, err error) {
	p := &s.Params
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return sum, badinput.Errorf("--out %s: %v", s.Dir, err)
	}
	if !s.exists {
		if err := writeParams(s.Dir, p); err != nil {
			return sum, err
		}
		s.exists = true
	}
	path := filepath.Join(s.Dir, RowsFile(s.Shard))
	sum.File, sum.Rows = path, s.Rows()

	// Hold the rows file's lock from before it is read until the Run ends.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return sum, badinput.Errorf("--out %s: %v", path, err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("%s: %w", path, cerr)
		}
	}()
	if err := lockFile(f); err != nil {
		if errors.Is(err, errBusy) {
			return sum, badinput.Errorf("--out %s: another process is running this sweep (or shard) now", path)
		}
		return sum, fmt.Errorf("locking %s: %w", path, err)
	}
	imageIndex := make(map[string]int, len(p.Images))
	for i, id := range p.Images {
		imageIndex[id] = i
	}
	done := map[pipeline.Key]bool{}
	good, torn, err := readRows(path, func(row *pipeline.Record) error {
		k := row.Key()
		if done[k] {
			return badinput.Errorf("%s: row %s is there twice", path, keyString(k))
		}
		if !s.inPlan(k, imageIndex) {
			return badinput.Errorf("%s: row %s is not part of this sweep (shard %s)", path, keyString(k), s.Shard)
		}
		done[k] = true
		return nil
	})
	if err != nil {
		return sum, err
	}
	if torn {
		if err := os.Truncate(path, good); err != nil {
			return sum, fmt.Errorf("cutting the torn last line of %s: %w", path, err)
		}
		sum.Torn = true
	}
	sum.Skipped = len(done)

	write := func(rec pipeline.Record) error {
		finite(&rec)
		b, err := json.Marshal(rec)
		if err != nil {
			return fmt.Errorf("row %s: %w", keyString(rec.Key()), err)
		}
		if _, err := f.Write(append(b, '\n')); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		sum.Computed++
		if rec.Error != "" {
			sum.Errors++
		}
		prog.row()
		return nil
	}

	what := fmt.Sprintf("eval %s", p.Dataset)
	if !s.Shard.Whole() {
		what += " shard " + s.Shard.String()
	}
	prog.begin(what, sum.Rows, sum.Skipped)
	defer prog.end()

	interrupted := func() error {
		return fmt.Errorf("%w after %d new rows (%d of %d done); run the same command to resume", ErrInterrupted,
			sum.Computed, sum.Skipped+sum.Computed, sum.Rows)
	}
	for i, smp := range s.samples {
		if !s.Shard.Has(i) {
			continue
		}
		// The rows of this image still to compute, per method.
		pending := make([][]pipeline.Key, len(p.Methods))
		anyPending := false
		for mi, m := range p.Methods {
			for _, ch := range p.Channels {
				for _, snr := range p.SNRs {
					k := pipeline.Key{Dataset: p.Dataset, ImageID: smp.ID, Method: m, Channel: ch, SNR: snr}
					if !done[k] {
						pending[mi] = append(pending[mi], k)
						anyPending = true
					}
				}
			}
		}
		if !anyPending {
			continue
		}
		if ctx.Err() != nil {
			return sum, interrupted()
		}
		img, loadErr := smp.Image()
		if loadErr != nil {
			prog.note("  %s: %v (its rows record the error)", smp.ID, loadErr)
		}
		for mi, m := range p.Methods {
			if len(pending[mi]) == 0 {
				continue
			}
			if loadErr != nil {
				for _, k := range pending[mi] {
					if err := write(s.errorRow(smp, k, loadErr)); err != nil {
						return sum, err
					}
				}
				continue
			}
			if ctx.Err() != nil {
				return sum, interrupted()
			}
			req := pipeline.TransmitRequest{
				Dataset: p.Dataset, ImageID: smp.ID, Path: smp.ImagePath, Image: img, Method: m,
				Seed: pipeline.TransmitSeed(p.Seed, p.Dataset, smp.ID, m), RefCaptions: smp.Captions,
			}
			tx, txErr := r.Transmit(req)
			sum.Transmits++
			if txErr != nil && !badinput.Is(txErr) {
				return sum, fmt.Errorf("transmitting %s with %s: %w", smp.ID, m, txErr)
			}
			first := true
			var txSeconds map[string]float64 // the transmitter's stage seconds, from the first row
			for ki, k := range pending[mi] {
				if s.NoReuse && ki > 0 && txErr == nil {
					if ctx.Err() != nil {
						return sum, interrupted()
					}
					tx, txErr = r.Transmit(req)
					sum.Transmits++
					if txErr != nil && !badinput.Is(txErr) {
						return sum, fmt.Errorf("transmitting %s with %s: %w", smp.ID, m, txErr)
					}
					first = true
				}
				if txErr != nil {
					if err := write(s.errorRow(smp, k, txErr)); err != nil {
						return sum, err
					}
					continue
				}
				if ctx.Err() != nil {
					return sum, interrupted()
				}
				seed := pipeline.RowSeed(p.Seed, k)
				rec, rowErr := r.Row(tx, k.Channel, k.SNR, seed)
				switch {
				case rowErr != nil && !badinput.Is(rowErr):
					return sum, fmt.Errorf("row %s: %w", keyString(k), rowErr)
				case rowErr != nil:
					rec = s.errorRow(smp, k, rowErr)
				default:
					s.fill(&rec, smp, k, img)
					rec.Reused = !first
					if first {
						txSeconds = map[string]float64{}
						for _, st := range TransmitStages {
							if v, ok := rec.Seconds[st]; ok {
								txSeconds[st] = v
							}
						}
					} else {
						copyMissing(&rec, txSeconds)
					}
					first = false
				}
				if err := write(rec); err != nil {
					return sum, err
				}
			}
			if txErr != nil {
				prog.note("  %s %s: %v (its rows record the error)", smp.ID, m, txErr)
			}
		}
	}
	return sum, nil
}

// finite drops what JSON cannot hold: a non-finite metric (a PSNR of +Inf
// for an exact copy, a NaN) becomes absent, as a metric not computed; a
// non-finite stage time is dropped.
func finite(rec *pipeline.Record) {
	m := &rec.Metrics
	for _, p := range []**float64{&m.Cosine, &m.LPIPS, &m.PSNR, &m.SSIM, &m.BLEUReceived, &m.BLEUCorrected, &m.BLEUSentRef, &m.BLEUCorrectedRef} {
		if *p != nil && (math.IsNaN(**p) || math.IsInf(**p, 0)) {
			*p = nil
		}
	}
	for st, v := range rec.Seconds {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			delete(rec.Seconds, st)
		}
	}
}

// TransmitStages are the keys of Record.Seconds measured by the transmitter
// (once per image and method).
var TransmitStages = []string{"segment", "detect", "split", "caption"}

// copyMissing puts the transmitter's stage seconds into a row that reuses
// the transmission, where the runner left them out.
func copyMissing(rec *pipeline.Record, tx map[string]float64) {
	for st, v := range tx {
		if _, ok := rec.Seconds[st]; !ok {
			if rec.Seconds == nil {
				rec.Seconds = map[string]float64{}
			}
			rec.Seconds[st] = v
		}
	}
}

// inPlan reports whether k is a row of this shard.
func (s *Sweep) inPlan(k pipeline.Key, imageIndex map[string]int) bool {
	p := &s.Params
	if k.Dataset != p.Dataset || !slices.Contains(p.Methods, k.Method) || !slices.Contains(p.Channels, k.Channel) || !slices.Contains(p.SNRs, k.SNR) {
		return false
	}
	i, ok := imageIndex[k.ImageID]
	return ok && s.Shard.Has(i)
}

// fill sets the row's key, seed and image fields from the plan, so the row
// is found again on resume whatever the runner filled in.
func (s *Sweep) fill(rec *pipeline.Record, smp dataset.Sample, k pipeline.Key, img image.Image) {
	if rec.Version == 0 {
		rec.Version = pipeline.RecordVersion
	}
	rec.Dataset, rec.ImageID, rec.Method, rec.Channel, rec.SNR = k.Dataset, k.ImageID, k.Method, k.Channel, k.SNR
	rec.Seed = pipeline.RowSeed(s.Params.Seed, k)
	if rec.Image == "" {
		rec.Image = smp.ImagePath
	}
	if rec.Width == 0 && rec.Height == 0 && img != nil {
		b := img.Bounds()
		rec.Width, rec.Height = b.Dx(), b.Dy()
	}
}

func (s *Sweep) errorRow(smp dataset.Sample, k pipeline.Key, err error) pipeline.Record {
	rec := pipeline.Record{Error: strings.SplitN(err.Error(), "\n", 2)[0]}
	s.fill(&rec, smp, k, nil)
	return rec
}

// planIndex maps every row of the whole sweep to its position in plan order.
func (p *Params) planIndex() map[pipeline.Key]int {
	idx := make(map[pipeline.Key]int, len(p.Images)*len(p.Methods)*len(p.Channels)*len(p.SNRs))
	n := 0
	for _, id := range p.Images {
		for _, m := range p.Methods {
			for _, ch := range p.Channels {
				for _, snr := range p.SNRs {
					idx[pipeline.Key{Dataset: p.Dataset, ImageID: id, Method: m, Channel: ch, SNR: snr}] = n
					n++
				}
			}
		}
	}
	return idx
}

// MergeSummary tells what Merge did.
type MergeSummary struct {
	File    string // the merged rows file
	Rows    int    // rows written
	Planned int    // rows of the whole sweep
	Files   int    // rows files read
}

// Merge joins the rows files of one sweep found in dirs (the shards'
// rows-K-of-N.jsonl and any rows.jsonl) into out/rows.jsonl, sorted in plan
// order, with out/sweep.json. Every dir's sweep.json must hold the same
// parameters; a key with two different rows, or a row outside the plan, is
// refused (bad input). The result equals the rows.jsonl of an unsharded run
// up to Canonical. Missing rows (an unfinished shard) are allowed and
// counted: Rows < Planned.
func Merge(out string, dirs ...string) (MergeSummary, error) {
	var sum MergeSummary
	if len(dirs) == 0 {
		return sum, badinput.Errorf("eval merge: no sweep folder given")
	}
	var p *Params
	for _, d := range dirs {
		q, err := ReadParams(d)
		if errors.Is(err, fs.ErrNotExist) {
			return sum, badinput.Errorf("%s: no %s (not a sweep folder)", d, SweepFile)
		}
		if err != nil {
			return sum, err
		}
		if p == nil {
			p = q
		} else if diff := p.differs(q); diff != "" {
			return sum, badinput.Errorf("%s is another sweep than %s: %s", d, dirs[0], diff)
		}
		files, err := RowFiles(d)
		if err != nil {
			return sum, err
		}
		sum.Files += len(files)
	}
	// The output folder's own rows are part of the union (never lost), and
	// it must not hold another sweep.
	if !slices.Contains(dirs, out) {
		q, err := ReadParams(out)
		switch {
		case err == nil:
			if diff := p.differs(q); diff != "" {
				return sum, badinput.Errorf("--out %s holds another sweep: %s", out, diff)
			}
			files, _ := RowFiles(out)
			sum.Files += len(files)
			dirs = append(slices.Clip(dirs), out)
		case errors.Is(err, fs.ErrNotExist):
			if files, _ := RowFiles(out); len(files) > 0 {
				return sum, badinput.Errorf("--out %s holds %s but no %s; use another --out", out, filepath.Base(files[0]), SweepFile)
			}
		default:
			return sum, badinput.Errorf("--out %v", err)
		}
	}
	rows, err := Load(dirs...)
	if err != nil {
		return sum, err
	}
	idx := p.planIndex()
	for _, r := range rows {
		if _, ok := idx[r.Key()]; !ok {
			return sum, badinput.Errorf("row %s is not part of the sweep in %s", keyString(r.Key()), dirs[0])
		}
	}
	slices.SortStableFunc(rows, func(a, b pipeline.Record) int { return idx[a.Key()] - idx[b.Key()] })

	if err := os.MkdirAll(out, 0o755); err != nil {
		return sum, badinput.Errorf("--out %s: %v", out, err)
	}
	if err := writeParams(out, p); err != nil {
		return sum, err
	}
	sum.File = filepath.Join(out, RowsFile(Shard{}))
	err = atomicfile.Write(sum.File, 0o644, func(f *os.File) error {
		for _, r := range rows {
			b, err := json.Marshal(r)
			if err != nil {
				return err
			}
			if _, err := f.Write(append(b, '\n')); err != nil {
				return err
			}
		}
		return nil
	})
	sum.Rows, sum.Planned = len(rows), len(idx)
	return sum, err
}
