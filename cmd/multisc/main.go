// Command multisc runs the Multi-SC semantic image transmission system: the
// transmitter, the simulated channel and the receiver in one native process.
//
// Each verb lives in its own file (restic style) and registers itself in
// init(); main.go holds only the dispatcher, the global flags and the rule that
// turns errors into exit statuses.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/pflag"
)

// command is one verb (or sub-verb) of the CLI.
type command struct {
	Name  string // the word typed after "multisc"
	Short string // one line for the verb list
	Usage string // argument synopsis, e.g. "IN.gguf OUT.gguf"
	Long  string // what --help prints after the synopsis

	// Flags adds the verb's own flags; the global flags are added for it.
	Flags func(fs *pflag.FlagSet)
	// Run does the work; args are the positional arguments after flag parsing.
	Run func(env *Env, args []string) error

	// Sub holds sub-verbs ("channel ber"); a command with Sub and no Run
	// only dispatches, one with both runs itself when no sub-verb is named.
	Sub []*command
}

var commands []*command

func register(c *command) { commands = append(commands, c) }

// usageError marks bad input: wrong flags, unreadable or malformed files.
// It exits with status 2 and one line naming the problem.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// badInput builds a usageError (exit status 2).
func badInput(format string, a ...any) error {
	return &usageError{msg: fmt.Sprintf(format, a...)}
}

func main() {
	cleanupOnSignal(os.Stderr)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command line and returns the process exit status:
// 0 success, 1 failure while working, 2 bad input.
func run(args []string, stdout, stderr io.Writer) int {
	err := dispatch(args, stdout, stderr)
	if err == nil || errors.Is(err, pflag.ErrHelp) {
		return 0
	}
	// Keep it to one line: the first line of the message.
	msg := strings.SplitN(err.Error(), "\n", 2)[0]
	fmt.Fprintf(stderr, "multisc: %s\n", msg)
	var ue *usageError
	if errors.As(err, &ue) || isInputError(err) {
		return 2
	}
	return 1
}

func dispatch(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printVerbs(stdout, "multisc", commands)
		return nil
	}
	return runCommand(lookup(commands, args[0]), "multisc", args, stdout, stderr)
}

func lookup(cs []*command, name string) *command {
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func runCommand(c *command, parent string, args []string, stdout, stderr io.Writer) error {
	if c == nil {
		return badInput("unknown command %q (see 'multisc --help')", args[0])
	}
	path := parent + " " + c.Name
	// A command with both Run and Sub ("eval", "eval report") runs itself
	// unless its first argument names a sub-verb.
	if len(c.Sub) > 0 && (c.Run == nil || len(args) > 1 && lookup(c.Sub, args[1]) != nil) {
		if len(args) < 2 || args[1] == "-h" || args[1] == "--help" {
			printVerbs(stdout, path, c.Sub)
			return nil
		}
		sub := lookup(c.Sub, args[1])
		if sub == nil {
			return badInput("unknown command %q for %q (see '%s --help')", args[1], path, path)
		}
		return runCommand(sub, path, args[1:], stdout, stderr)
	}

	env := &Env{Stdout: stdout, Stderr: stderr}
	fs := pflag.NewFlagSet(path, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	if c.Flags != nil {
		c.Flags(fs)
	}
	env.addGlobalFlags(fs)
	fs.Usage = func() {}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprintf(stdout, "Usage: %s [flags] %s\n\n", path, c.Usage)
			if c.Long != "" {
				fmt.Fprintf(stdout, "%s\n\n", strings.TrimSpace(c.Long))
			}
			fmt.Fprintf(stdout, "Flags:\n%s", fs.FlagUsages())
			return err
		}
		return badInput("%s: %v", strings.TrimPrefix(path, "multisc "), err)
	}
	if err := env.setup(); err != nil {
		return err
	}
	defer env.close()
	return c.Run(env, fs.Args())
}

func printVerbs(w io.Writer, path string, cs []*command) {
	fmt.Fprintf(w, "Usage: %s COMMAND [flags] [args]\n\nCommands:\n", path)
	sorted := append([]*command(nil), cs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for _, c := range sorted {
		fmt.Fprintf(w, "  %-10s %s\n", c.Name, c.Short)
	}
	fmt.Fprintf(w, "\nGlobal flags: --device auto|cpu|cuda:N, --threads N, --log-level quiet|error|warn|info|debug\n")
	fmt.Fprintf(w, "Run '%s COMMAND --help' for a command's flags.\n", path)
}
