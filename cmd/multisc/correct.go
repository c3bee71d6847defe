package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/models/bart"
)

// correctStdin is where `correct` reads texts when none are given as
// arguments (tests replace it).
var correctStdin io.Reader = os.Stdin

func init() {
	var modelPath string
	var beams, maxLength, batch int
	var asJSON bool
	register(&command{
		Name:  "correct",
		Short: "correct noisy texts with a BART spelling corrector",
		Usage: `--model bart.gguf [--beams N] [--max-length N] [--json] ["TEXT"...]`,
		Long: `Runs a BART model (models/bart) on each text and prints the corrected text,
one line per input in input order. Texts come from the arguments, or from
stdin one per line when there are none. The model loads once; texts decode in
batches of --batch. Generation settings default to the values the model file
recorded from its generation_config.json / config.json (see inspect).
Empty lines come back empty; invalid UTF-8 is repaired; texts longer than the
model's positions are truncated (said once on stderr).
--json prints one object per line: {"input": ..., "output": ...}.`,
		Flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&modelPath, "model", "", "BART GGUF file")
			fs.IntVar(&beams, "beams", 0, "beams (1 = greedy; 0 = the model's num_beams)")
			fs.IntVar(&maxLength, "max-length", 0, "maximum output tokens incl. start and end (0 = the model's max_length)")
			fs.IntVar(&batch, "batch", 32, "texts decoded side by side")
			fs.BoolVar(&asJSON, "json", false, "JSON lines output")
		},
		Run: func(env *Env, args []string) error {
			if modelPath == "" {
				return badInput("--model is required")
			}
			if beams < 0 {
				return badInput("--beams must be >= 0, got %d", beams)
			}
			if maxLength < 0 || maxLength == 1 {
				return badInput("--max-length must be 0 or >= 2, got %d", maxLength)
			}
			if batch < 1 {
				return badInput("--batch must be >= 1, got %d", batch)
			}
			texts := args
			if len(texts) == 0 {
				var err error
				if texts, err = correctReadLines(correctStdin); err != nil {
					return fmt.Errorf("reading stdin: %w", err)
				}
			}
			c, err := bart.Open(modelPath, bindings.Options{Device: env.Device, Threads: env.Threads})
			if err != nil {
				return err
			}
			defer c.Close()
			c.BatchSize = batch
			c.Warn = func(msg string) { fmt.Fprintln(env.Stderr, "multisc: warning:", msg) }
			g := c.Defaults()
			if beams > 0 {
				g.NumBeams = beams
			}
			if maxLength > 0 {
				g.MaxLength = maxLength
			}
			out, err := c.Correct(texts, g)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(env.Stdout)
			for i, s := range out {
				if asJSON {
					if err := enc.Encode(map[string]string{"input": bart.RepairUTF8(texts[i]), "output": s}); err != nil {
						return err
					}
					continue
				}
				// one line per input: a newline produced inside a text is shown as a space
				fmt.Fprintln(env.Stdout, strings.ReplaceAll(s, "\n", " "))
			}
			return nil
		},
	})
}

// correctReadLines reads lines (without their \n or \r\n) up to EOF.
func correctReadLines(r io.Reader) ([]string, error) {
	var lines []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		lines = append(lines, strings.TrimRight(sc.Text(), "\r"))
	}
	return lines, sc.Err()
}
