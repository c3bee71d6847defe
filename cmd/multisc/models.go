package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/multisc/multisc/pipeline/models"
)

// modelsCmd is `multisc models`; each sub-verb adds itself to Sub from its
// own file (models_*.go).
var modelsCmd = &command{
	Name:  "models",
	Short: "the models folder: pull, synth, list, check, verify (models.json)",
}

func init() {
	register(modelsCmd)
	modelsCmd.Sub = append(modelsCmd.Sub, &command{
		Name:  "list",
		Short: "what a models folder holds: roles, files, types, sizes, sources",
		Usage: "DIR",
		Long: `Reads DIR/models.json and prints one row per file: role, architecture,
storage type, size and source. Roles the manifest lacks are listed at the end
with the command that fills them.`,
		Run: func(env *Env, args []string) error {
			if len(args) != 1 {
				return badInput("models list takes one models folder")
			}
			set, err := models.Open(args[0])
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ROLE\tARCH\tTYPE\tSIZE\tFILE\tSOURCE")
			for _, r := range set.Manifest.SortedRoles() {
				rf := set.Manifest.Roles[r]
				for _, f := range rf.Files {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r, f.Arch, rf.Type, humanSize(f.Size), f.Path, rf.Source)
				}
			}
			tw.Flush()
			var missing []string
			for _, r := range models.Roles {
				if !set.Has(r) {
					missing = append(missing, string(r))
				}
			}
			if len(missing) > 0 {
				fmt.Fprintf(env.Stdout, "missing roles: %s (`multisc models pull ROLE --out %s`)\n", strings.Join(missing, ", "), args[0])
			}
			return nil
		},
	})
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
