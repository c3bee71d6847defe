package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/pflag"

	"github.com/multisc/multisc/bindings"
)

// Version is the Multi-SC release; set with -ldflags "-X main.Version=...".
var Version = "0.1.0-dev"

func init() {
	var asJSON bool
	register(&command{
		Name:  "version",
		Short: "print the Multi-SC, Go and engine versions",
		Flags: func(fs *pflag.FlagSet) { fs.BoolVar(&asJSON, "json", false, "print JSON") },
		Run: func(env *Env, args []string) error {
			if len(args) != 0 {
				return badInput("version takes no arguments")
			}
			v := struct {
				MultiSC    string `json:"multisc"`
				Go         string `json:"go"`
				Ollama     string `json:"ollama"`
				GGML       string `json:"ggml"`
				Platform   string `json:"platform"`
				VCSVersion string `json:"vcs_revision,omitempty"`
			}{Version, runtime.Version(), bindings.EngineVersion(), bindings.GGMLRevision, runtime.GOOS + "/" + runtime.GOARCH, ""}
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" {
						v.VCSVersion = s.Value
					}
				}
			}
			if asJSON {
				return env.printJSON(v)
			}
			fmt.Fprintf(env.Stdout, "multisc %s\n", v.MultiSC)
			fmt.Fprintf(env.Stdout, "go      %s %s\n", v.Go, v.Platform)
			fmt.Fprintf(env.Stdout, "engine  github.com/ollama/ollama %s (llama.cpp/ggml %s)\n", v.Ollama, v.GGML)
			return nil
		},
	})
}
