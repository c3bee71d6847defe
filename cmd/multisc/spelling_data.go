package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/multisc/multisc/bindings/atomicfile"
	"github.com/multisc/multisc/pipeline/spelling"
)

func init() {
	var captions, out, snr, channels, mods, codes string
	var coherence, repeats, limit int
	var seed uint64
	var valid float64
	var dropIdentical, asJSON bool
	register(&command{
		Name:  "spelling-data",
		Short: "build the BART spelling-correction training set from captions sent over the channel",
		Usage: "--captions FILE --out DIR [--snr 0:2:10] [--channel awgn,rayleigh] [--mod qpsk] [--code none]",
		Long: `Sends clean captions (a text file, one per line, or a COCO captions JSON)
through the link simulator over the grid of --snr × --channel × --mod × --code
(comma lists) and writes DIR/train.jsonl and DIR/valid.jsonl, one pair per line:
{"input": noisy, "target": clean, "snr_db", "channel", "modulation", "code"},
and DIR/summary.json with the character and word error rates per grid point
(also printed). Seeded: the same captions, flags and --seed give the same
bytes. A caption goes wholly to train or valid (--valid fraction). Repeated
pairs are written once and counted as duplicates; pairs the channel left
error-free are kept (--drop-identical leaves them out) and counted.
Rules: pipeline/spelling package comment. Fine-tune BART on train.jsonl
with your usual trainer, then: multisc convert --arch bart --out bart.gguf FOLDER.`,
		Flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&captions, "captions", "", "clean captions: text file (one per line) or COCO captions JSON")
			fs.StringVar(&out, "out", "", "output folder (created if missing; its parent must exist)")
			fs.StringVar(&snr, "snr", "0:2:10", "Es/N0 grid in dB: X, START:STOP or START:STEP:STOP")
			fs.StringVar(&channels, "channel", "awgn,rayleigh", "channels, comma-separated: awgn, rayleigh")
			fs.StringVar(&mods, "mod", "qpsk", "modulations, comma-separated: bpsk, qpsk, 16qam, 64qam")
			fs.StringVar(&codes, "code", "none", "codes, comma-separated: none or ldpc-N-R")
			fs.IntVar(&coherence, "coherence", 1, "Rayleigh coherence length in symbols")
			fs.IntVar(&repeats, "repeats", 1, "noisy copies per caption and grid point")
			fs.IntVar(&limit, "limit", 0, "use only the first N captions (0 = all)")
			fs.Uint64Var(&seed, "seed", 0, "random seed")
			fs.Float64Var(&valid, "valid", 0.1, "fraction of captions in the valid split")
			fs.BoolVar(&dropIdentical, "drop-identical", false, "leave out pairs whose input equals the target")
			fs.BoolVar(&asJSON, "json", false, "print the summary as JSON")
		},
		Run: func(env *Env, args []string) error {
			if len(args) != 0 {
				return badInput("spelling-data takes no positional arguments (use --captions)")
			}
			if captions == "" || out == "" {
				return badInput("--captions and --out are required")
			}
			if err := checkOutput("--out", filepath.Clean(out)); err != nil {
				return err
			}
			if repeats < 1 || limit < 0 || coherence < 1 {
				return badInput("--repeats and --coherence must be >= 1, --limit >= 0")
			}
			snrs, err := parseSNRRange(snr)
			if err != nil {
				return err
			}
			caps, err := spelling.ReadCaptions(captions)
			if err != nil {
				return err
			}
			if limit > 0 && limit < len(caps) {
				caps = caps[:limit]
			}
			o := spelling.Options{SNRs: snrs, Channels: spellingList(channels), Mods: spellingList(mods),
				Codes: spellingList(codes), Coherence: coherence, Repeats: repeats, Seed: seed,
				Valid: valid, DropIdentical: dropIdentical}
			bar := env.progress(int64(len(snrs)*len(o.Channels)*len(o.Mods)*len(o.Codes)), "sending captions")
			set, err := spelling.Build(caps, o, func(done, total int) { bar.Set(done) })
			bar.Finish()
			if err != nil {
				return err
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return badInput("--out %s: %v", out, err)
			}
			write := func(name string, body func(w *bufio.Writer) error) error {
				return atomicfile.Write(filepath.Join(out, name), 0o644, func(f *os.File) error {
					w := bufio.NewWriter(f)
					if err := body(w); err != nil {
						return err
					}
					return w.Flush()
				})
			}
			for _, f := range []struct {
				name  string
				pairs []spelling.Pair
			}{{"train.jsonl", set.Train}, {"valid.jsonl", set.Valid}} {
				if err := write(f.name, func(w *bufio.Writer) error { return spelling.WriteJSONL(w, f.pairs) }); err != nil {
					return fmt.Errorf("%s: %w", filepath.Join(out, f.name), err)
				}
			}
			summary := struct {
				Captions int            `json:"captions"`
				Train    int            `json:"train"`
				Valid    int            `json:"valid"`
				Seed     uint64         `json:"seed"`
				Rows     []spelling.Row `json:"rows"`
			}{len(caps), len(set.Train), len(set.Valid), seed, set.Summary}
			if err := write("summary.json", func(w *bufio.Writer) error {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(summary)
			}); err != nil {
				return err
			}
			if asJSON {
				return env.printJSON(summary)
			}
			fmt.Fprintf(env.Stdout, "%d captions -> %d train, %d valid pairs in %s\n", len(caps), len(set.Train), len(set.Valid), out)
			fmt.Fprintf(env.Stdout, "%-9s %-6s %-14s %7s %6s %8s %9s %10s %7s %7s\n",
				"channel", "mod", "code", "snr_db", "pairs", "written", "identical", "duplicates", "cer", "wer")
			for _, r := range set.Summary {
				fmt.Fprintf(env.Stdout, "%-9s %-6s %-14s %7.2f %6d %8d %9d %10d %7.4f %7.4f\n",
					r.Channel, r.Modulation, r.Code, r.SNRdB, r.Pairs, r.Written, r.Identical, r.Duplicates, r.CER, r.WER)
			}
			return nil
		},
	})
}

// spellingList splits a comma-separated flag value.
func spellingList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
