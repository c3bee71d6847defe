package main

import (
	"fmt"

	"github.com/multisc/multisc/pipeline/models"
)

func init() {
	modelsCmd.Sub = append(modelsCmd.Sub, &command{
		Name:  "verify",
		Short: "sha256 of every model file against models.json",
		Usage: "DIR",
		Long: `Hashes every file models.json lists and compares sha256 and size with the
manifest. Exit status 2 names the first file that differs or is missing, and
the pull command that restores it.`,
		Run: func(env *Env, args []string) error {
			if len(args) != 1 {
				return badInput("models verify takes one models folder")
			}
			fs, err := models.Verify(args[0])
			for _, f := range fs {
				fmt.Fprintln(env.Stdout, f)
			}
			return err
		},
	})
}
