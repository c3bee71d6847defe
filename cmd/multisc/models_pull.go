package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/multisc/multisc/pipeline/models"
)

func init() {
	var out, typ, from string
	var keep, catalogue bool
	var retries, parallel int
	var timeout time.Duration
	modelsCmd.Sub = append(modelsCmd.Sub, &command{
		Name:  "pull",
		Short: "download, verify and convert the public checkpoints of the roles",
		Usage: "[ROLE...] --out DIR [--type f16|q8_0|q4_0] [--from-dir D]",
		Long: `Fetches each role's public checkpoints (every convertible role when none is
named; --catalogue lists them with sources and licences), verifies their
sha256 where the publisher gives it (the hub's X-Linked-Etag, torchvision's
hash prefix; a mismatch deletes the file and says so), converts them to GGUF
at --type and writes DIR/models.json last, atomically, merged with the roles
already there. Downloads resume (HTTP Range): a pull that was stopped
continues where it left off; dropped connections and server errors are
retried. Progress goes to stderr. After a pull, no command uses the network.

Environment: HF_ENDPOINT (Hugging Face mirror), HF_TOKEN (sent to the
Hugging Face endpoint only), MULTISC_PYTORCH_ENDPOINT and
MULTISC_GITHUB_ENDPOINT (mirrors of download.pytorch.org and github.com).

Offline machines: copy the checkpoints over and pull with --from-dir D (each
file found at its catalogue path under D, by its file name, or at its path in
its repository); no network is used.`,
		Flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&out, "out", "", "models folder (created if missing)")
			fs.StringVar(&typ, "type", "f16", "storage type: f16, q8_0, q4_0, f32, ...")
			fs.StringVar(&from, "from-dir", "", "take the checkpoints from this folder, no network")
			fs.BoolVar(&keep, "keep-checkpoints", false, "keep the downloads under DIR/.checkpoints after conversion")
			fs.IntVar(&retries, "retries", 5, "retries of a dropped or failed download (each resumes)")
			fs.IntVar(&parallel, "parallel", 4, "files of a role downloaded at once")
			fs.DurationVar(&timeout, "timeout", time.Minute, "give up a request that receives nothing for this long")
			fs.BoolVar(&catalogue, "catalogue", false, "list the catalogue and exit")
		},
		Run: func(env *Env, args []string) error {
			if catalogue {
				printCatalogue(env)
				return nil
			}
			var roles []models.Role
			for _, a := range args {
				r, err := models.ParseRole(a)
				if err != nil {
					return badInput("models pull: %v", err)
				}
				roles = append(roles, r)
			}
			if out == "" {
				return badInput("--out is required")
			}
			if retries < 0 {
				return badInput("--retries must be >= 0, got %d", retries)
			}
			if parallel < 1 {
				return badInput("--parallel must be >= 1, got %d", parallel)
			}
			if timeout <= 0 {
				return badInput("--timeout must be positive, got %v", timeout)
			}
			o := models.PullOptions{
				Out: out, Type: typ, FromDir: from, KeepCheckpoints: keep,
				Retries: retries, IdleTimeout: timeout, Parallel: parallel, Progress: env.Stderr,
				Token: os.Getenv("HF_TOKEN"),
				Endpoints: map[models.Host]string{
					models.HuggingFace: os.Getenv("HF_ENDPOINT"),
					models.PyTorch:     os.Getenv("MULTISC_PYTORCH_ENDPOINT"),
					models.GitHub:      os.Getenv("MULTISC_GITHUB_ENDPOINT"),
				},
			}
			m, err := models.Pull(context.Background(), roles, o)
			if err != nil {
				return err
			}
			var names []string
			for _, r := range m.SortedRoles() {
				names = append(names, string(r))
			}
			fmt.Fprintf(env.Stdout, "wrote %s/%s (roles: %s)\n", out, models.ManifestName, strings.Join(names, ", "))
			return nil
		},
	})
}

func printCatalogue(env *Env) {
	for _, e := range models.Catalogue {
		state := "convertible"
		if !e.Convertible() {
			state = "not yet convertible (" + e.Issue + ")"
		}
		fmt.Fprintf(env.Stdout, "%s: %s\n  arch %s, licence %s, %s\n", e.Role, e.Model, e.Arch, e.Licence, state)
		for _, s := range e.Files {
			fmt.Fprintf(env.Stdout, "  %s\n", s.URL(models.DefaultEndpoints))
		}
	}
}
