package eval

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/multisc/multisc/bindings/atomicfile"
	"github.com/multisc/multisc/bindings/badinput"
	"github.com/multisc/multisc/pipeline"
)

// A Metric is one number of a row that the report averages.
type Metric struct {
	Name  string // CSV name
	Label string // axis and table label
	Get   func(m *pipeline.Metrics) *float64
}

// Metrics are the averaged metrics, in table order.
var Metrics = []Metric{
	{"cosine", "cosine similarity", func(m *pipeline.Metrics) *float64 { return m.Cosine }},
	{"lpips", "LPIPS", func(m *pipeline.Metrics) *float64 { return m.LPIPS }},
	{"psnr", "PSNR (dB)", func(m *pipeline.Metrics) *float64 { return m.PSNR }},
	{"ssim", "SSIM", func(m *pipeline.Metrics) *float64 { return m.SSIM }},
	{"bleu_received", "BLEU received", func(m *pipeline.Metrics) *float64 { return m.BLEUReceived }},
	{"bleu_corrected", "BLEU corrected", func(m *pipeline.Metrics) *float64 { return m.BLEUCorrected }},
	{"bleu_sent_ref", "BLEU sent vs dataset", func(m *pipeline.Metrics) *float64 { return m.BLEUSentRef }},
	{"bleu_corrected_ref", "BLEU corrected vs dataset", func(m *pipeline.Metrics) *float64 { return m.BLEUCorrectedRef }},
}

// PlottedMetrics are the metrics drawn against SNR (the paper's figures).
var PlottedMetrics = []string{"cosine", "lpips"}

// Group is one point of the sweep: a dataset × channel × method × SNR.
type Group struct {
	Dataset, Channel, Method string
	SNR                      float64
}

// Point is a metric's statistics over a group's rows.
type Point struct {
	Group
	Metric string
	Stat
}

// GroupStats are a group's row counts and its metrics' statistics.
type GroupStats struct {
	Group
	Rows      int // rows of the group, with errors
	ErrorRows int // rows with Error set (excluded from the means)
	Stats     map[string]Stat
}

// Timing is a Table II row: mean seconds per stage for a dataset × method.
type Timing struct {
	Dataset, Method string
	Rows            int                // rows averaged (without errors)
	Mean            map[string]float64 // stage -> mean seconds over the rows that have it
}

// Report is what a sweep's rows sum up to.
type Report struct {
	Rows, ErrorRows int
	Groups          []GroupStats // in report order
	Stages          []string     // Table II columns, "total" last
	Timings         []Timing
	Errors          []pipeline.Record // the rows with Error set, in report order
}

// stageOrder is the order of the per-stage seconds (pipeline.Record.Seconds);
// other stages follow, sorted, and "total" comes last.
var stageOrder = []string{"load", "segment", "detect", "split", "caption", "transmit", "link", "correct", "encode_image", "generate", "metrics"}

func orderIn(list []string, a, b string) int {
	ia, ib := slices.Index(list, a), slices.Index(list, b)
	switch {
	case ia >= 0 && ib >= 0:
		return ia - ib
	case ia >= 0:
		return -1
	case ib >= 0:
		return 1
	}
	return strings.Compare(a, b)
}

func cmpGroup(a, b Group) int {
	return cmp.Or(strings.Compare(a.Dataset, b.Dataset), orderIn(Channels, a.Channel, b.Channel),
		orderIn(pipeline.Methods, a.Method, b.Method), cmp.Compare(a.SNR, b.SNR))
}

// Summarize computes the report of a sweep's rows: for every group, each
// metric's mean ± 95% CI over the rows that have it (rows with Error set
// are counted and left out; so are non-finite values, a PSNR of +Inf for
// an exact copy, say), and the Table II timings.
func Summarize(rows []pipeline.Record) *Report {
	rep := &Report{Rows: len(rows)}
	vals := map[Group]map[string][]float64{}
	counts := map[Group][2]int{}
	type dm struct{ ds, m string }
	stageVals := map[dm]map[string][]float64{}
	stageRows := map[dm]int{}
	stages := map[string]bool{}
	for i := range rows {
		r := &rows[i]
		g := Group{r.Dataset, r.Channel, r.Method, r.SNR}
		c := counts[g]
		c[0]++
		if r.Error != "" {
			c[1]++
			counts[g] = c
			rep.ErrorRows++
			rep.Errors = append(rep.Errors, *r)
			continue
		}
		counts[g] = c
		if vals[g] == nil {
			vals[g] = map[string][]float64{}
		}
		for _, m := range Metrics {
			if v := m.Get(&r.Metrics); v != nil && !math.IsNaN(*v) && !math.IsInf(*v, 0) {
				vals[g][m.Name] = append(vals[g][m.Name], *v)
			}
		}
		k := dm{r.Dataset, r.Method}
		stageRows[k]++
		if stageVals[k] == nil {
			stageVals[k] = map[string][]float64{}
		}
		for st, sec := range r.Seconds {
			if !math.IsNaN(sec) && !math.IsInf(sec, 0) {
				stageVals[k][st] = append(stageVals[k][st], sec)
				stages[st] = true
			}
		}
	}
	for g, c := range counts {
		gs := GroupStats{Group: g, Rows: c[0], ErrorRows: c[1], Stats: map[string]Stat{}}
		for name, xs := range vals[g] {
			gs.Stats[name] = SummarizeValues(xs)
		}
		rep.Groups = append(rep.Groups, gs)
	}
	slices.SortFunc(rep.Groups, func(a, b GroupStats) int { return cmpGroup(a.Group, b.Group) })
	slices.SortStableFunc(rep.Errors, func(a, b pipeline.Record) int {
		return cmp.Or(cmpGroup(Group{a.Dataset, a.Channel, a.Method, a.SNR}, Group{b.Dataset, b.Channel, b.Method, b.SNR}),
			strings.Compare(a.ImageID, b.ImageID))
	})

	for st := range stages {
		if st != "total" {
			rep.Stages = append(rep.Stages, st)
		}
	}
	slices.SortFunc(rep.Stages, func(a, b string) int { return orderIn(stageOrder, a, b) })
	if stages["total"] {
		rep.Stages = append(rep.Stages, "total")
	}
	for k, n := range stageRows {
		t := Timing{Dataset: k.ds, Method: k.m, Rows: n, Mean: map[string]float64{}}
		for st, xs := range stageVals[k] {
			t.Mean[st] = SummarizeValues(xs).Mean
		}
		rep.Timings = append(rep.Timings, t)
	}
	slices.SortFunc(rep.Timings, func(a, b Timing) int {
		return cmp.Or(strings.Compare(a.Dataset, b.Dataset), orderIn(pipeline.Methods, a.Method, b.Method))
	})
	return rep
}

// Points are the plotted numbers: for each plotted metric, dataset and
// channel, one curve per method over SNR (groups without values skipped).
func (rep *Report) Points() []Point {
	var out []Point
	for _, metric := range PlottedMetrics {
		for _, g := range rep.Groups {
			if st, ok := g.Stats[metric]; ok && st.N > 0 {
				out = append(out, Point{Group: g.Group, Metric: metric, Stat: st})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Point) int {
		return cmp.Or(orderIn(PlottedMetrics, a.Metric, b.Metric), strings.Compare(a.Dataset, b.Dataset),
			orderIn(Channels, a.Channel, b.Channel), orderIn(pipeline.Methods, a.Method, b.Method), cmp.Compare(a.SNR, b.SNR))
	})
	return out
}

// FigureName is the base name (no extension) of a metric's figure for a
// dataset and channel: e.g. "cosine_kodak_awgn".
func FigureName(metric, dataset, channel string) string {
	clean := func(s string) string {
		if s == "" {
			return "none"
		}
		return strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
				return r
			}
			return '-'
		}, s)
	}
	return metric + "_" + clean(dataset) + "_" + clean(channel)
}

// ReportFiles lists what WriteReport writes, besides the figures.
var ReportFiles = []string{"means.csv", "means.md", "points.csv", "table2.csv", "table2.md", "errors.csv"}

// WriteReport reads the rows of the sweeps in dirs (all their rows files, as
// Load: one sweep per dataset, say) and writes the report into out: means.csv and means.md (mean ± 95%
// CI per dataset × channel × method × SNR for every metric), points.csv
// (the plotted numbers), the figures (PlottedMetrics vs SNR, one per
// dataset × channel, .png and .svg), table2.csv and table2.md (mean
// seconds per stage and total per dataset × method), errors.csv (the rows
// with errors). Each file is written atomically. It returns the report and
// the paths written.
func WriteReport(out string, dirs ...string) (*Report, []string, error) {
	if len(dirs) == 0 {
		return nil, nil, badinput.Errorf("eval report: no sweep folder given")
	}
	rows, err := Load(dirs...)
	if err != nil {
		return nil, nil, err
	}
	if len(rows) == 0 {
		return nil, nil, badinput.Errorf("%s: no rows to report (no rows.jsonl or rows-K-of-N.jsonl with rows)", strings.Join(dirs, ", "))
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, nil, badinput.Errorf("--out %s: %v", out, err)
	}
	rep := Summarize(rows)
	var written []string
	put := func(name string, fill func(w io.Writer) error) error {
		var buf bytes.Buffer
		if err := fill(&buf); err != nil {
			return err
		}
		path := filepath.Join(out, name)
		if err := atomicfile.Write(path, 0o644, func(f *os.File) error { _, err := f.Write(buf.Bytes()); return err }); err != nil {
			return err
		}
		written = append(written, path)
		return nil
	}
	for _, f := range []struct {
		name string
		fill func(io.Writer) error
	}{
		{"means.csv", rep.writeMeansCSV},
		{"means.md", rep.writeMeansMD},
		{"points.csv", rep.writePointsCSV},
		{"table2.csv", rep.writeTable2CSV},
		{"table2.md", rep.writeTable2MD},
		{"errors.csv", rep.writeErrorsCSV},
	} {
		if err := put(f.name, f.fill); err != nil {
			return rep, written, err
		}
	}
	figs, err := rep.writeFigures(out)
	written = append(written, figs...)
	return rep, written, err
}

func fmtF(x float64) string {
	if math.IsNaN(x) {
		return ""
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}

func (rep *Report) writeMeansCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"dataset", "channel", "method", "snr_db", "metric", "n", "mean", "sd", "ci95", "rows", "error_rows"})
	for _, g := range rep.Groups {
		for _, m := range Metrics {
			st, ok := g.Stats[m.Name]
			if !ok {
				continue
			}
			_ = cw.Write([]string{g.Dataset, g.Channel, g.Method, fmtF(g.SNR), m.Name, strconv.Itoa(st.N),
				fmtF(st.Mean), fmtF(st.SD), fmtF(st.CI95), strconv.Itoa(g.Rows), strconv.Itoa(g.ErrorRows)})
		}
	}
	cw.Flush()
	return cw.Error()
}

// pointsHeader are points.csv's columns.
var pointsHeader = []string{"figure", "dataset", "channel", "metric", "method", "snr_db", "n", "mean", "ci95"}

func (rep *Report) writePointsCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(pointsHeader)
	for _, p := range rep.Points() {
		_ = cw.Write([]string{FigureName(p.Metric, p.Dataset, p.Channel), p.Dataset, p.Channel, p.Metric, p.Method,
			fmtF(p.SNR), strconv.Itoa(p.N), fmtF(p.Mean), fmtF(p.CI95)})
	}
	cw.Flush()
	return cw.Error()
}

func (rep *Report) writeErrorsCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"dataset", "image_id", "method", "channel", "snr_db", "error"})
	for _, r := range rep.Errors {
		_ = cw.Write([]string{r.Dataset, r.ImageID, r.Method, r.Channel, fmtF(r.SNR), r.Error})
	}
	cw.Flush()
	return cw.Error()
}

func pm(st Stat, prec int) string {
	if st.N == 0 {
		return ""
	}
	s := strconv.FormatFloat(st.Mean, 'f', prec, 64)
	if !math.IsNaN(st.CI95) {
		s += " ± " + strconv.FormatFloat(st.CI95, 'f', prec, 64)
	}
	return s
}

func (rep *Report) writeMeansMD(w io.Writer) error {
	fmt.Fprintf(w, "# Sweep means\n\n%d rows, %d with errors (counted, left out of the means). Cells are mean ± half-width of the 95%% confidence interval (Student t); n is the rows averaged.\n", rep.Rows, rep.ErrorRows)
	// One table per dataset × channel, with the metrics it has.
	for start := 0; start < len(rep.Groups); {
		end := start
		for end < len(rep.Groups) && rep.Groups[end].Dataset == rep.Groups[start].Dataset && rep.Groups[end].Channel == rep.Groups[start].Channel {
			end++
		}
		section := rep.Groups[start:end]
		var ms []Metric
		for _, m := range Metrics {
			if slices.ContainsFunc(section, func(g GroupStats) bool { return g.Stats[m.Name].N > 0 }) {
				ms = append(ms, m)
			}
		}
		fmt.Fprintf(w, "\n## %s, %s\n\n| method | SNR (dB) | n | errors |", section[0].Dataset, section[0].Channel)
		for _, m := range ms {
			fmt.Fprintf(w, " %s |", m.Label)
		}
		fmt.Fprint(w, "\n|---|---:|---:|---:|")
		for range ms {
			fmt.Fprint(w, "---:|")
		}
		fmt.Fprintln(w)
		for _, g := range section {
			fmt.Fprintf(w, "| %s | %s | %d | %d |", g.Method, fmtF(g.SNR), g.Rows-g.ErrorRows, g.ErrorRows)
			for _, m := range ms {
				prec := 4
				if m.Name == "psnr" {
					prec = 2
				}
				fmt.Fprintf(w, " %s |", pm(g.Stats[m.Name], prec))
			}
			fmt.Fprintln(w)
		}
		start = end
	}
	return nil
}

func (rep *Report) writeTable2CSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(append([]string{"dataset", "method", "rows"}, rep.Stages...))
	for _, t := range rep.Timings {
		rec := []string{t.Dataset, t.Method, strconv.Itoa(t.Rows)}
		for _, st := range rep.Stages {
			v, ok := t.Mean[st]
			if !ok {
				v = math.NaN()
			}
			rec = append(rec, fmtF(v))
		}
		_ = cw.Write(rec)
	}
	cw.Flush()
	return cw.Error()
}

func (rep *Report) writeTable2MD(w io.Writer) error {
	fmt.Fprintf(w, "# Inference time (Table II analogue)\n\nMean seconds per row, per stage; transmitter stages are measured once per image and method and repeated in the rows that reuse them.\n\n")
	fmt.Fprint(w, "| dataset | method | rows |")
	for _, st := range rep.Stages {
		fmt.Fprintf(w, " %s |", st)
	}
	fmt.Fprint(w, "\n|---|---|---:|")
	for range rep.Stages {
		fmt.Fprint(w, "---:|")
	}
	fmt.Fprintln(w)
	for _, t := range rep.Timings {
		fmt.Fprintf(w, "| %s | %s | %d |", t.Dataset, t.Method, t.Rows)
		for _, st := range rep.Stages {
			if v, ok := t.Mean[st]; ok {
				fmt.Fprintf(w, " %.3f |", v)
			} else {
				fmt.Fprint(w, " |")
			}
		}
		fmt.Fprintln(w)
	}
	return nil
}
