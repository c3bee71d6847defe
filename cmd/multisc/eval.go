package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/multisc/multisc/pipeline"
	"github.com/multisc/multisc/pipeline/dataset"
	"github.com/multisc/multisc/pipeline/eval"
)

// openEvalRunner opens the Multi-SC system on a models folder for a sweep,
// on env's --device and --threads. The system's package sets it; tests set a
// fake. The Closer frees the models.
var openEvalRunner func(env *Env, modelsDir string) (eval.Runner, io.Closer, error)

func init() {
	var (
		kind, root, split, methods, channels, snr, shard, modelsDir, out string
		limit                                                            int
		seed                                                             uint64
		noReuse                                                          bool
	)
	sweepCmd := &command{
		Name:  "eval",
		Short: "the experiments: SNR sweeps over a dataset (JSONL rows), report, merge",
		Usage: "--dataset kodak|voc|coco|folder --root R --models DIR --out DIR\n       multisc eval report DIR... [--out DIR]\n       multisc eval merge DIR... [--out DIR]",
		Long: `Runs every image of the dataset through every method, channel and SNR and
appends one JSON row per image × method × channel × SNR to OUT/rows.jsonl
(OUT/rows-K-of-N.jsonl with --shard K/N), fsynced row by row; OUT/sweep.json
keeps the parameters. The transmitter runs once per image and method; every
channel and SNR reuses it. Run the same command again to resume: finished rows
are skipped, a row cut by a kill is redone, none is written twice; other
parameters in the same OUT are refused. An image that fails to load gives rows
with the error and the sweep goes on. Seeds per row come from --seed and the
row's key, so shards and resumes give the same rows as one uninterrupted run.

--shard K/N takes the images whose index i (from 0) has i mod N = K-1 (a Slurm
array: --shard ${SLURM_ARRAY_TASK_ID}/N); 'multisc eval merge OUT' joins the
shard files into OUT/rows.jsonl in plan order, 'multisc eval report OUT' writes
the figures, means ± 95% CI and the Table II timings (it reads shard files
directly too). Ctrl-C stops after the row in progress; a second Ctrl-C at once.`,
		Flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&kind, "dataset", "", "dataset: kodak, voc, coco or folder (any folder of images)")
			fs.StringVar(&root, "root", "", "the dataset's folder")
			fs.StringVar(&split, "split", "", "dataset split (voc, coco: val by default)")
			fs.StringVar(&methods, "methods", strings.Join(pipeline.Methods, ","), "methods, comma-separated")
			fs.StringVar(&channels, "channels", strings.Join(eval.Channels, ","), "channels, comma-separated: awgn, rayleigh")
			fs.StringVar(&snr, "snr", "0:3:18", "SNRs in dB (Es/N0): START:STEP:STOP (inclusive) or a list X,Y,…")
			fs.IntVar(&limit, "limit", 0, "the first N images of the dataset only (0: all)")
			fs.StringVar(&shard, "shard", "", "run shard K of N (K/N, 1 ≤ K ≤ N): the images with index mod N = K-1")
			fs.Uint64Var(&seed, "seed", 1, "base seed of every row's seeds")
			fs.StringVar(&modelsDir, "models", "", "models folder (models.json)")
			fs.StringVar(&out, "out", "", "sweep folder (created if missing; resumed if it holds this sweep)")
			fs.BoolVar(&noReuse, "no-reuse", false, "transmit again for every row (same rows, slower): to measure what the reuse saves")
		},
		Run: func(env *Env, args []string) error {
			if len(args) != 0 {
				return badInput("eval takes no positional arguments, got %q (sub-verbs: report, merge)", args[0])
			}
			p := eval.Params{Seed: seed, Limit: limit, Models: modelsDir}
			var err error
			if p.SNRs, err = eval.ParseSNRs(snr); err != nil {
				return err
			}
			if p.Methods, err = eval.ParseMethods(methods); err != nil {
				return err
			}
			if p.Channels, err = eval.ParseChannels(channels); err != nil {
				return err
			}
			sh, err := eval.ParseShard(shard)
			if err != nil {
				return err
			}
			switch {
			case kind == "":
				return badInput("--dataset is required (%s)", strings.Join(dataset.Kinds, ", "))
			case root == "":
				return badInput("--root is required (the dataset's folder)")
			case modelsDir == "":
				return badInput("--models is required (a models folder; 'multisc models synth --out DIR' makes a tiny one)")
			case out == "":
				return badInput("--out is required (the sweep folder)")
			case limit < 0:
				return badInput("--limit %d: want 0 (all) or more", limit)
			}
			ds, err := dataset.Open(kind, root, dataset.Options{Split: split, Limit: limit})
			if err != nil {
				return err
			}
			s, err := eval.New(ds, p, sh, out)
			if err != nil {
				return err
			}
			s.NoReuse = noReuse
			if openEvalRunner == nil {
				return errors.New("eval: this build has no Multi-SC system to run the sweep (openEvalRunner is not wired)")
			}
			runner, closer, err := openEvalRunner(env, modelsDir)
			if err != nil {
				return err
			}
			if closer != nil {
				defer closer.Close()
			}

			ctx, stop := interruptible()
			defer stop()
			// The first signal cancels ctx (the row in progress is finished and
			// written); a second one exits at once: rows are fsynced one by one,
			// and a row cut mid-write is redone on resume.
			sigs := make(chan os.Signal, 2)
			signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
			defer signal.Stop(sigs)
			finished := make(chan struct{})
			defer close(finished)
			go func() {
				for n := 1; ; n++ {
					select {
					case <-finished:
						return
					case sig := <-sigs:
						if n == 1 {
							fmt.Fprintln(env.Stderr, "multisc: interrupt: finishing the row in progress (Ctrl-C again stops at once; finished rows are kept)")
							continue
						}
						fmt.Fprintf(env.Stderr, "multisc: interrupted again (%v): stopped; run the same command to resume\n", sig)
						code := 130
						if sig == syscall.SIGTERM {
							code = 143
						}
						os.Exit(code)
					}
				}
			}()
			prog := &eval.Progress{W: env.Stderr, Terminal: isTerminal(env.Stderr)}
			sum, err := s.Run(ctx, runner, prog)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "%s: %d rows (%d written now, %d with errors; %d were already there)\n",
				sum.File, sum.Rows, sum.Computed, sum.Errors, sum.Skipped)
			if sum.Torn {
				fmt.Fprintf(env.Stdout, "note: a torn last line (an interrupted write) was cut off and its row redone\n")
			}
			next := "report"
			if !sh.Whole() {
				next = "merge"
			}
			fmt.Fprintf(env.Stdout, "next: multisc eval %s %s\n", next, out)
			return nil
		},
	}

	var reportOut string
	report := &command{
		Name:  "report",
		Short: "figures, means ± 95% CI and Table II from a sweep's rows",
		Usage: "DIR... [--out DIR]",
		Long: `Reads the rows of each sweep folder DIR (rows.jsonl and any rows-K-of-N.jsonl;
several folders: one sweep per dataset, say; rows with errors are counted and
left out of the means) and writes into --out (default: the first DIR/report):
means.csv and means.md (mean, sd, 95% CI (Student t) and n per dataset ×
channel × method × SNR for cosine, LPIPS, PSNR, SSIM and BLEU), points.csv
(the plotted numbers), cosine_DS_CH and lpips_DS_CH figures (.png and .svg;
one curve per method vs SNR, error bars = 95% CI), table2.csv and table2.md
(mean seconds per stage and total per dataset × method) and errors.csv.`,
		Flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&reportOut, "out", "", "report folder (default DIR/report)")
		},
		Run: func(env *Env, args []string) error {
			if len(args) == 0 {
				return badInput("eval report takes one or more sweep folders")
			}
			o := reportOut
			if o == "" {
				o = filepath.Join(args[0], "report")
			}
			rep, written, err := eval.WriteReport(o, args...)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "%d rows, %d with errors (left out of the means), %d points\n", rep.Rows, rep.ErrorRows, len(rep.Groups))
			for _, w := range written {
				fmt.Fprintln(env.Stdout, "wrote", w)
			}
			return nil
		},
	}

	var mergeOut string
	merge := &command{
		Name:  "merge",
		Short: "join a sweep's shard files into rows.jsonl, in plan order",
		Usage: "DIR... [--out DIR]",
		Long: `Joins the rows files of one sweep (rows-K-of-N.jsonl and rows.jsonl, in one
folder or several) into --out/rows.jsonl (default: the first DIR), sorted in
the sweep's order, with sweep.json: the same rows as one unsharded run. The
folders must hold the same sweep; two different rows for one key are refused.
Missing rows (an unfinished shard) are counted and reported.`,
		Flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&mergeOut, "out", "", "folder for the merged rows.jsonl (default: the first DIR)")
		},
		Run: func(env *Env, args []string) error {
			if len(args) == 0 {
				return badInput("eval merge takes one or more sweep folders")
			}
			o := mergeOut
			if o == "" {
				o = args[0]
			}
			ms, err := eval.Merge(o, args...)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "%s: %d rows from %d files", ms.File, ms.Rows, ms.Files)
			if ms.Rows < ms.Planned {
				fmt.Fprintf(env.Stdout, "; %d of the sweep's %d rows are missing (unfinished shards?)", ms.Planned-ms.Rows, ms.Planned)
			}
			fmt.Fprintln(env.Stdout)
			return nil
		},
	}
	sweepCmd.Sub = []*command{report, merge}
	register(sweepCmd)
}

// isTerminal reports whether w is a terminal (progress bars redraw in place
// there; elsewhere they print plain lines).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
