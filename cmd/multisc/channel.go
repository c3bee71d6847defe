package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/spf13/pflag"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/multisc/multisc/bindings/atomicfile"
	"github.com/multisc/multisc/pipeline/channel"
)

// linkFlags are the flags that configure a link; ber and text share them.
type linkFlags struct {
	mod, ch, eq, code string
	coherence         int
	maxIter           int
	interleave        bool
	noEarlyExit       bool
	seed              uint64
	asJSON            bool
}

func (lf *linkFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&lf.mod, "mod", "bpsk", "modulation: bpsk, qpsk, 16qam or 64qam (Gray, unit Es)")
	fs.StringVar(&lf.ch, "channel", "awgn", "channel: awgn or rayleigh (flat, h ~ CN(0,1), perfect CSI)")
	fs.IntVar(&lf.coherence, "coherence", 1, "Rayleigh coherence length L in symbols (1 = fast fading)")
	fs.StringVar(&lf.eq, "eq", "zf", "equalizer: zf or mmse (identical bits for one antenna; matters for analog)")
	fs.StringVar(&lf.code, "code", "none", "none or an 802.11n LDPC code ldpc-N-R, N 648|1296|1944, R 1/2|2/3|3/4|5/6")
	fs.IntVar(&lf.maxIter, "max-iter", channel.DefaultMaxIter, "LDPC decoder iterations at most")
	fs.BoolVar(&lf.noEarlyExit, "no-early-exit", false, "run all --max-iter iterations even when the syndrome is zero")
	fs.BoolVar(&lf.interleave, "interleave", false, "permute the bits of each codeword before modulation")
	fs.Uint64Var(&lf.seed, "seed", 1, "random seed; the same seed gives the same output")
	fs.BoolVar(&lf.asJSON, "json", false, "print JSON")
}

// Bounds of the channel flags: wide enough for any experiment, narrow
// enough that no value makes the simulator allocate or loop without end.
const (
	maxSNRdB     = 200     // |SNR| in dB (beyond it, float64 noise power under/overflows meaning)
	minSNRStep   = 1e-3    // dB
	maxSNRPoints = 1000    // points per range
	maxBERBits   = 1e11    // information bits per SNR point (hours of simulation)
	maxIterLimit = 10000   // LDPC iterations
	maxCoherence = 1 << 24 // Rayleigh coherence length in symbols
)

func (lf *linkFlags) link() (*channel.Link, error) {
	if lf.coherence > maxCoherence {
		return nil, badInput("--coherence %d: at most %d symbols", lf.coherence, maxCoherence)
	}
	if lf.maxIter > maxIterLimit {
		return nil, badInput("--max-iter %d: at most %d", lf.maxIter, maxIterLimit)
	}
	m, err := channel.ParseModulation(lf.mod)
	if err != nil {
		return nil, err
	}
	ch, err := channel.ParseChannel(lf.ch, lf.coherence, lf.eq)
	if err != nil {
		return nil, err
	}
	code, err := channel.ParseCode(lf.code)
	if err != nil {
		return nil, err
	}
	if lf.maxIter < 1 {
		return nil, badInput("--max-iter %d: must be at least 1", lf.maxIter)
	}
	return &channel.Link{Mod: m, Code: code, Channel: ch, Interleave: lf.interleave,
		MaxIter: lf.maxIter, NoEarlyExit: lf.noEarlyExit}, nil
}

func codeName(l *channel.Link) string {
	if l.Code == nil {
		return "none"
	}
	return l.Code.Name
}

// parseSNRRange parses "x", "start:stop" (step 1) or "start:step:stop", all
// in dB, stop included; a range must be non-empty and ascending, values
// within ±maxSNRdB, the step at least minSNRStep, and at most maxSNRPoints
// points, counted before anything is allocated.
func parseSNRRange(s string) ([]float64, error) {
	bad := func(why string) error {
		return badInput("--snr %q: %s (want X, START:STOP or START:STEP:STOP in dB)", s, why)
	}
	parts := strings.Split(s, ":")
	if len(parts) > 3 {
		return nil, bad("too many fields")
	}
	v := make([]float64, len(parts))
	for i, p := range parts {
		x, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) || math.IsNaN(x) {
			return nil, bad(fmt.Sprintf("%q is not a number", p))
		}
		if math.Abs(x) > maxSNRdB && !(i == 1 && len(parts) == 3) {
			return nil, bad(fmt.Sprintf("%s dB is outside ±%d dB", p, maxSNRdB))
		}
		v[i] = x
	}
	start, step, stop := v[0], 1.0, v[len(v)-1]
	if len(v) == 3 {
		step = v[1]
	}
	switch {
	case step <= 0:
		return nil, bad("step must be positive")
	case step < minSNRStep:
		return nil, bad(fmt.Sprintf("step must be at least %g dB", minSNRStep))
	case stop < start:
		return nil, bad("stop is below start")
	case (stop-start)/step >= maxSNRPoints:
		return nil, bad(fmt.Sprintf("more than %d points", maxSNRPoints))
	}
	n := int(math.Floor((stop-start)/step+1e-9)) + 1
	out := make([]float64, n)
	for i := range out {
		x := start + float64(i)*step
		out[i] = math.Round(x*1e9) / 1e9 // print 0.3, not 0.30000000000000004
	}
	return out, nil
}

// berRow is one output row; pointers are null in JSON where not defined.
type berRow struct {
	SNRdB       float64  `json:"snr_db"`
	EsN0dB      float64  `json:"esn0_db"`
	EbN0dB      float64  `json:"ebn0_db"`
	BER         float64  `json:"ber"`
	BLER        *float64 `json:"bler"`       // coded links only
	TheoryBER   *float64 `json:"theory_ber"` // uncoded links only
	Bits        int64    `json:"bits"`
	BitErrors   int64    `json:"bit_errors"`
	Blocks      int64    `json:"blocks"`
	BlockErrors int64    `json:"block_errors"`
	AvgIter     float64  `json:"avg_iterations,omitempty"`
}

func init() {
	var (
		lf              linkFlags
		snr, snrPer     string
		bits            int64
		csvPath, pngOut string
	)
	ber := &command{
		Name:  "ber",
		Short: "simulate bit and block error rates over an SNR range",
		Usage: "",
		Long: `Sends --bits random information bits per SNR point over the link and counts
errors. --snr is Es/N0 per complex symbol (unit average symbol energy), or
Eb/N0 per information bit with --snr-per eb; Eb/N0 = Es/N0 − 10·log10(R·m)
for code rate R and m bits per symbol. Theory BER (exact closed form) is given
for uncoded links. Each point is deterministic in --seed and its SNR.`,
		Flags: func(fs *pflag.FlagSet) {
			lf.add(fs)
			fs.StringVar(&snr, "snr", "-2:1:12", "SNR range in dB: X, START:STOP or START:STEP:STOP")
			fs.StringVar(&snrPer, "snr-per", "es", "what --snr measures: es (Es/N0 per symbol) or eb (Eb/N0 per information bit)")
			fs.Int64Var(&bits, "bits", 1_000_000, "information bits to simulate per SNR point")
			fs.StringVar(&csvPath, "csv", "", "also write the table as CSV to this file")
			fs.StringVar(&pngOut, "plot", "", "also draw the BER curve to this file (.png, .svg or .pdf)")
		},
		Run: func(env *Env, args []string) error {
			if len(args) != 0 {
				return badInput("channel ber takes no arguments, got %q", args[0])
			}
			l, err := lf.link()
			if err != nil {
				return err
			}
			snrs, err := parseSNRRange(snr)
			if err != nil {
				return err
			}
			if snrPer != "es" && snrPer != "eb" {
				return badInput("--snr-per %q: want es or eb", snrPer)
			}
			if bits <= 0 || bits > maxBERBits {
				return badInput("--bits %d: want 1 to %.0e", bits, float64(maxBERBits))
			}
			if pngOut != "" {
				switch strings.ToLower(filepath.Ext(pngOut)) {
				case ".png", ".svg", ".pdf", ".jpg", ".jpeg":
				default:
					return badInput("--plot %q: want a .png, .svg or .pdf file", pngOut)
				}
			}
			// Outputs are written at the end, atomically; check their folders now
			// so a typo does not cost a whole simulation.
			for flag, path := range map[string]string{"--csv": csvPath, "--plot": pngOut} {
				if err := checkOutput(flag, path); err != nil {
					return err
				}
			}

			// Ctrl-C stops after the SNR point in progress is dropped; the points
			// already finished are still printed and written.
			ctx, stop := interruptible()
			defer stop()
			bar := env.progress(int64(len(snrs))*l.SimBits(bits), "simulating")
			rows := make([]berRow, 0, len(snrs))
			for _, s := range snrs {
				if ctx.Err() != nil {
					break
				}
				es := s
				if snrPer == "eb" {
					es = channel.EsN0(s, l.Mod.Bits, l.Rate())
				}
				p := channel.SimulateBER(l, es, bits, channel.SimOptions{
					Seed: lf.seed, Workers: env.Threads,
					Progress: func(n int64) { _ = bar.Add64(n) },
				})
				if ctx.Err() != nil {
					break
				}
				row := berRow{SNRdB: s, EsN0dB: p.EsN0dB, EbN0dB: p.EbN0dB, BER: p.BER,
					Bits: p.Bits, BitErrors: p.BitErrors, Blocks: p.Blocks, BlockErrors: p.BlockErrors, AvgIter: p.AvgIter}
				if l.Code != nil {
					row.BLER = &p.BLER
				}
				if p.HasTheory() {
					row.TheoryBER = &p.Theory
				}
				rows = append(rows, row)
			}
			_ = bar.Finish()

			if csvPath != "" && len(rows) > 0 {
				if err := atomicfile.Write(csvPath, 0o644, func(f *os.File) error { return writeBERCSV(f, rows) }); err != nil {
					return outputError("--csv", err)
				}
			}
			if pngOut != "" && len(rows) > 0 {
				title := fmt.Sprintf("%s, %s, %s", l.Mod.Name, l.Channel, codeName(l))
				// The dashed curve is the uncoded closed form of the same
				// modulation; on a coded link it is the reference to beat.
				theory := func(x float64) float64 {
					if snrPer == "eb" {
						x = channel.EsN0(x, l.Mod.Bits, 1)
					}
					return channel.TheoryBER(l.Mod, l.Channel.Kind, x)
				}
				label := "theory"
				if l.Code != nil {
					label = "uncoded " + l.Mod.Name + " (theory)"
				}
				if err := plotBER(pngOut, title, snrPer, rows, theory, label); err != nil {
					return outputError("--plot", err)
				}
			}
			if ctx.Err() != nil {
				printBERTable(env, l, snrPer, rows)
				return fmt.Errorf("interrupted after %d of %d SNR points (those are printed and written)", len(rows), len(snrs))
			}
			if lf.asJSON {
				return env.printJSON(struct {
					Mod       string   `json:"mod"`
					Channel   string   `json:"channel"`
					Coherence int      `json:"coherence"`
					Eq        string   `json:"eq"`
					Code      string   `json:"code"`
					Rate      float64  `json:"rate"`
					SNRPer    string   `json:"snr_per"`
					Seed      uint64   `json:"seed"`
					Points    []berRow `json:"points"`
				}{l.Mod.Name, l.Channel.Kind.String(), l.Channel.Coherence, l.Channel.Eq.String(),
					codeName(l), l.Rate(), snrPer, lf.seed, rows})
			}
			printBERTable(env, l, snrPer, rows)
			return nil
		},
	}

	var (
		tf    linkFlags
		tsnr  float64
		tsper string
	)
	text := &command{
		Name:  "text",
		Short: "send a caption over the link and print what arrives",
		Usage: "TEXT",
		Long: `Sends TEXT (UTF-8) in CRC-32 frames, one per codeword, and prints the received
text, always valid UTF-8 (each invalid byte becomes U+FFFD), then a line
starting with "#" giving bit errors, symbols used and failed frames. --snr is Es/N0 in dB (or Eb/N0 per payload
bit with --snr-per eb).`,
		Flags: func(fs *pflag.FlagSet) {
			tf.add(fs)
			fs.Float64Var(&tsnr, "snr", 10, "SNR in dB")
			fs.StringVar(&tsper, "snr-per", "es", "what --snr measures: es or eb")
		},
		Run: func(env *Env, args []string) error {
			if len(args) != 1 {
				return badInput("channel text takes one TEXT argument, got %d", len(args))
			}
			l, err := tf.link()
			if err != nil {
				return err
			}
			if math.IsNaN(tsnr) || math.Abs(tsnr) > maxSNRdB {
				return badInput("--snr %v: want a number of dB within ±%d", tsnr, maxSNRdB)
			}
			if !utf8.ValidString(args[0]) {
				bad := 0
				for bad < len(args[0]) {
					r, n := utf8.DecodeRuneInString(args[0][bad:])
					if r == utf8.RuneError && n == 1 {
						break
					}
					bad += n
				}
				return badInput("TEXT is not valid UTF-8 (byte %d is 0x%02x); captions are UTF-8 text", bad, args[0][bad])
			}
			es := tsnr
			switch tsper {
			case "es":
			case "eb":
				es = channel.EsN0(tsnr, l.Mod.Bits, l.Rate())
			default:
				return badInput("--snr-per %q: want es or eb", tsper)
			}
			res := channel.SendText(args[0], l, es, tf.seed)
			if tf.asJSON {
				return env.printJSON(struct {
					channel.TextResult
					Mod     string `json:"mod"`
					Channel string `json:"channel"`
					Code    string `json:"code"`
					Seed    uint64 `json:"seed"`
				}{res, l.Mod.Name, l.Channel.String(), codeName(l), tf.seed})
			}
			ber := 0.0
			if res.Bits > 0 {
				ber = float64(res.BitErrors) / float64(res.Bits)
			}
			fmt.Fprintf(env.Stdout, "%s\n", res.Text)
			fmt.Fprintf(env.Stdout, "# %s, %s, %s, Es/N0 %.2f dB (Eb/N0 %.2f dB): %d/%d bit errors (BER %.3g), %d symbols, %d/%d frames failed, %d bytes repaired\n",
				l.Mod.Name, l.Channel, codeName(l), res.EsN0dB, res.EbN0dB, res.BitErrors, res.Bits, ber,
				res.Symbols, res.FramesFailed, res.Frames, res.RepairedBytes)
			return nil
		},
	}

	register(&command{
		Name:  "channel",
		Short: "link-level channel simulator (BER curves, text over the air)",
		Sub:   []*command{ber, text},
	})
}

// fmtOpt formats an optional value with prec significant digits (-1: all).
func fmtOpt(p *float64, prec int) string {
	if p == nil {
		return ""
	}
	return strconv.FormatFloat(*p, 'g', prec, 64)
}

func printBERTable(env *Env, l *channel.Link, snrPer string, rows []berRow) {
	fmt.Fprintf(env.Stdout, "# %s, %s, %s (rate %.4g); snr is %s/N0 in dB\n", l.Mod.Name, l.Channel, codeName(l), l.Rate(), map[string]string{"es": "Es", "eb": "Eb"}[snrPer])
	fmt.Fprintf(env.Stdout, "%8s %8s %8s %12s %12s %12s %12s %10s\n", "snr_db", "esn0_db", "ebn0_db", "ber", "bler", "theory_ber", "bits", "bit_errors")
	for _, r := range rows {
		fmt.Fprintf(env.Stdout, "%8.2f %8.2f %8.2f %12.4e %12s %12s %12d %10d\n",
			r.SNRdB, r.EsN0dB, r.EbN0dB, r.BER, fmtOpt(r.BLER, 5), fmtOpt(r.TheoryBER, 5), r.Bits, r.BitErrors)
	}
}

func writeBERCSV(out io.Writer, rows []berRow) error {
	w := csv.NewWriter(out)
	_ = w.Write([]string{"snr_db", "esn0_db", "ebn0_db", "ber", "bler", "theory_ber", "bits", "bit_errors", "blocks", "block_errors"})
	g := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	for _, r := range rows {
		_ = w.Write([]string{g(r.SNRdB), g(r.EsN0dB), g(r.EbN0dB), g(r.BER), fmtOpt(r.BLER, -1), fmtOpt(r.TheoryBER, -1),
			strconv.FormatInt(r.Bits, 10), strconv.FormatInt(r.BitErrors, 10),
			strconv.FormatInt(r.Blocks, 10), strconv.FormatInt(r.BlockErrors, 10)})
	}
	w.Flush()
	return w.Error()
}

// plotBER draws simulated BER (solid, with markers) and the theory curve
// (dashed, 20 samples per dB) on a log scale. Points with zero errors cannot
// sit on a log axis and are left out of the simulated curve.
func plotBER(path, title, snrPer string, rows []berRow, theory func(float64) float64, label string) error {
	p := plot.New()
	p.Title.Text = "BER: " + title
	p.X.Label.Text = map[string]string{"es": "Es/N0 (dB)", "eb": "Eb/N0 (dB)"}[snrPer]
	p.Y.Label.Text = "bit error rate"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Add(plotter.NewGrid())

	// Theory is drawn down to a tenth of the smallest simulated BER (1e-7 if
	// none), so that it does not stretch the axis far below the data.
	var sim, th plotter.XYs
	floor := 1e-7
	for _, r := range rows {
		if r.BER > 0 {
			sim = append(sim, plotter.XY{X: r.SNRdB, Y: r.BER})
		}
	}
	if len(sim) > 0 {
		floor = sim[0].Y
		for _, xy := range sim {
			floor = min(floor, xy.Y/10)
		}
	}
	x0, x1 := rows[0].SNRdB, rows[len(rows)-1].SNRdB
	steps := max(int(math.Ceil((x1-x0)*20)), 1)
	for i := 0; i <= steps; i++ {
		x := x0 + (x1-x0)*float64(i)/float64(steps)
		if y := theory(x); y >= floor {
			th = append(th, plotter.XY{X: x, Y: y})
		}
	}
	if len(sim) == 0 && len(th) == 0 {
		return fmt.Errorf("no non-zero BER to plot (simulate more bits or lower SNRs)")
	}
	if len(sim) > 0 {
		line, pts, err := plotter.NewLinePoints(sim)
		if err != nil {
			return err
		}
		line.Width = vg.Points(1.5)
		p.Add(line, pts)
		p.Legend.Add("simulated", line, pts)
	}
	if len(th) > 0 {
		line, err := plotter.NewLine(th)
		if err != nil {
			return err
		}
		line.Dashes = []vg.Length{vg.Points(6), vg.Points(4)}
		line.Color = color.RGBA{R: 200, G: 30, B: 30, A: 255}
		line.Width = vg.Points(1)
		p.Add(line)
		p.Legend.Add(label, line)
	}
	p.Legend.Top = false
	p.Legend.Left = true
	format := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	wt, err := p.WriterTo(6*vg.Inch, 4.5*vg.Inch, format)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, 0o644, func(f *os.File) error {
		_, err := wt.WriteTo(f)
		return err
	})
}
