package main

import (
	"encoding/json"
	"fmt"
	"image"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/atomicfile"
	"github.com/multisc/multisc/models/llava"
	"github.com/multisc/multisc/pipeline/imageio"
)

// captionRow is one image's caption in --json output.
type captionRow struct {
	Image        string  `json:"image"`
	Caption      string  `json:"caption"`
	Tokens       []int32 `json:"tokens"`
	PromptTokens int     `json:"prompt_tokens"`
	Stop         string  `json:"stop"`
	Batch        int     `json:"batch"`
	// Seconds of the image's batch: image encode, prompt, decode.
	EncodeSeconds float64 `json:"encode_seconds"`
	PromptSeconds float64 `json:"prompt_seconds"`
	DecodeSeconds float64 `json:"decode_seconds"`
}

func init() {
	var lm, mmproj, prompt, system string
	var maxTokens, topK, batch int
	var temperature, topP float64
	var seed uint64
	var asJSON, flash bool
	var dump string
	register(&command{
		Name:  "caption",
		Short: "describe images with a LLaVA model (qwen2 LM + mmproj GGUF pair)",
		Usage: "IMG... --llm LM.gguf --mmproj MMPROJ.gguf [--prompt Q] [--max-tokens 64] [--temperature 0] [--seed S] [--json]",
		Long: `Captions each image with the paper's query (or --prompt, which must contain
<image> once) inside the model's chat template. The models load once; images
are decoded --batch at a time as parallel sequences of one batch (greedy
results equal captioning them one by one). Temperature 0 is greedy; otherwise
--top-k/--top-p sampling with --seed (image i always uses stream i).
Files: llama.cpp's LM (general.architecture qwen2) and mmproj (clip), e.g.
from 'multisc synth --arch llava' or 'multisc convert --arch clip'.`,
		Flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&lm, "llm", "", "language model GGUF (qwen2)")
			fs.StringVar(&mmproj, "mmproj", "", "multimodal projector GGUF (clip)")
			fs.StringVar(&prompt, "prompt", llava.PaperQuery, "query; must contain <image> once")
			fs.StringVar(&system, "system", llava.DefaultSystem, `system prompt ("" for none)`)
			fs.IntVar(&maxTokens, "max-tokens", 64, "generated tokens at most per image")
			fs.Float64Var(&temperature, "temperature", 0, "sampling temperature (0 = greedy)")
			fs.IntVar(&topK, "top-k", 0, "sample among the k most likely tokens (0 = all)")
			fs.Float64Var(&topP, "top-p", 1, "sample within this probability mass (0 < p <= 1)")
			fs.Uint64Var(&seed, "seed", 0, "sampling seed")
			fs.IntVar(&batch, "batch", 4, "images decoded together in one batch")
			fs.BoolVar(&asJSON, "json", false, "one JSON array with tokens and timings")
			fs.BoolVar(&flash, "flash-attn", false, "ggml's fused flash-attention kernel in both models")
			fs.StringVar(&dump, "dump", "", "write the first image's prompt token ids and first-token logits as JSON (cross-checks)")
			fs.MarkHidden("dump")
		},
		Run: func(env *Env, args []string) error {
			switch {
			case len(args) == 0:
				return badInput("caption needs at least one image")
			case lm == "":
				return badInput("--llm is required")
			case mmproj == "":
				return badInput("--mmproj is required")
			case maxTokens < 1:
				return badInput("--max-tokens must be >= 1, got %d", maxTokens)
			case temperature < 0:
				return badInput("--temperature must be >= 0, got %g", temperature)
			case topK < 0:
				return badInput("--top-k must be >= 0, got %d", topK)
			case !(topP > 0 && topP <= 1):
				return badInput("--top-p must be in (0, 1], got %g", topP)
			case batch < 1:
				return badInput("--batch must be >= 1, got %d", batch)
			case strings.Count(prompt, llava.ImageMarker) != 1:
				return badInput("--prompt %q: must contain %s exactly once", prompt, llava.ImageMarker)
			}
			if err := checkOutput("--dump", dump); err != nil {
				return err
			}
			imgs := make([]image.Image, len(args))
			for i, p := range args {
				img, err := imageio.Load(p)
				if err != nil {
					return err
				}
				imgs[i] = img
			}
			c, err := llava.OpenWith(lm, mmproj, bindings.Options{Device: env.Device, Threads: env.Threads}, flash)
			if err != nil {
				return err
			}
			defer c.Close()
			if !c.TemplateKnown {
				fmt.Fprintf(env.Stderr, "multisc: --llm %s: chat template not recognised, using ChatML\n", lm)
			}
			if system == "" {
				system = "-"
			}
			o := llava.Options{Query: prompt, System: system, MaxTokens: maxTokens,
				Sampling: llava.Sampling{Temperature: temperature, TopK: topK, TopP: topP, Seed: seed}, KeepLogits: dump != ""}
			var rows []captionRow
			for lo := 0; lo < len(imgs); lo += batch {
				hi := min(lo+batch, len(imgs))
				o.FirstStream = uint64(lo)
				res, err := c.Caption(imgs[lo:hi], o)
				if err != nil {
					return err
				}
				if lo == 0 && dump != "" {
					if err := captionDump(c, o, res[0], dump); err != nil {
						return err
					}
				}
				for i, r := range res {
					rows = append(rows, captionRow{Image: args[lo+i], Caption: r.Text, Tokens: r.Tokens,
						PromptTokens: r.PromptTokens, Stop: r.Stop, Batch: lo / batch,
						EncodeSeconds: c.Last.EncodeSeconds, PromptSeconds: c.Last.PromptSeconds, DecodeSeconds: c.Last.DecodeSeconds})
					if !asJSON {
						fmt.Fprintf(env.Stdout, "%s\t%s\n", args[lo+i], strings.ReplaceAll(r.Text, "\n", " "))
					}
				}
			}
			if asJSON {
				return env.printJSON(rows)
			}
			return nil
		},
	})
}

// captionDump writes the prompt token ids (image tokens as -1) and the
// first-token logits of one caption, for tools/llamacpp/crosscheck.sh.
func captionDump(c *llava.Captioner, o llava.Options, r llava.Result, path string) error {
	pre, post, err := c.Tokenize(o)
	if err != nil {
		return err
	}
	ids := append([]int32{}, pre...)
	for range c.ImageTokens() {
		ids = append(ids, -1)
	}
	ids = append(ids, post...)
	b, err := json.Marshal(map[string]any{"prompt_ids": ids, "tokens": r.Tokens, "first_logits": r.FirstLogits})
	if err != nil {
		return err
	}
	return atomicfile.Write(path, 0o644, func(f *os.File) error {
		_, err := f.Write(b)
		return err
	})
}
