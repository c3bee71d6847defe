package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/atomicfile"
	"github.com/multisc/multisc/bindings/badinput"
)

// Env carries the global flags and the output streams to a verb.
type Env struct {
	Stdout, Stderr io.Writer

	Device   string // --device: auto, cpu, cuda:N
	Threads  int    // --threads: CPU threads (0 = all cores)
	LogLevel string // --log-level
}

func (e *Env) addGlobalFlags(fs *pflag.FlagSet) {
	fs.StringVar(&e.Device, "device", "auto", "compute device: auto, cpu or cuda:N")
	fs.IntVar(&e.Threads, "threads", 0, "CPU threads for the engine (0 = all cores)")
	fs.StringVar(&e.LogLevel, "log-level", "quiet", "engine log level: quiet, error, warn, info, debug")
}

// setup validates the global flags and installs the one slog handler that all
// engine log lines (ours and ggml's) go through.
func (e *Env) setup() error {
	if e.Threads < 0 || e.Threads > maxThreads {
		return badInput("--threads must be 0 (all cores) to %d, got %d", maxThreads, e.Threads)
	}
	// --device is checked by every verb, also those that load no model, so
	// a typo never passes silently; whether cuda:N exists is checked where a
	// model is opened.
	if _, err := bindings.ParseDevice(e.Device); err != nil {
		return err
	}
	var level slog.Level
	switch strings.ToLower(e.LogLevel) {
	case "quiet", "off":
		level = slog.LevelError + 100 // nothing passes
	case "error":
		level = slog.LevelError
	case "warn":
		level = slog.LevelWarn
	case "info":
		level = slog.LevelInfo
	case "debug":
		level = slog.LevelDebug
	default:
		return badInput("--log-level must be quiet, error, warn, info or debug, got %q", e.LogLevel)
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(e.Stderr, &slog.HandlerOptions{Level: level})))
	return nil
}

func (e *Env) close() {}

// printJSON writes v as indented JSON to stdout.
func (e *Env) printJSON(v any) error {
	enc := json.NewEncoder(e.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// progress returns a bar on stderr for long work; it draws only when stderr
// is a terminal, so logs and test output stay clean.
func (e *Env) progress(total int64, what string) *progressbar.ProgressBar {
	visible := false
	if f, ok := e.Stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		visible = true
	}
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(e.Stderr),
		progressbar.OptionSetDescription(what),
		progressbar.OptionSetVisibility(visible),
		progressbar.OptionShowCount(),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionThrottle(100_000_000),
	)
}

// isInputError reports whether err is a bad-input error from any package.
func isInputError(err error) bool { return badinput.Is(err) }

// maxThreads bounds --threads.
const maxThreads = 4096

// graceful counts the interruptible() contexts in use: while one is, a
// signal is the verb's to handle (it stops and keeps finished results).
var graceful atomic.Int32

// interruptible returns a context cancelled by Ctrl-C (SIGINT) or SIGTERM,
// for long loops that stop cleanly and keep their finished results; stop
// restores the default signal handling.
func interruptible() (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	graceful.Add(1)
	var once sync.Once
	return ctx, func() {
		once.Do(func() { graceful.Add(-1) })
		stop()
	}
}

// cleanupOnSignal makes SIGINT and SIGTERM remove every temporary file of an
// output still being written (atomicfile.RemoveTemps: models, images, CSV,
// the scratch model of device enumeration), then exit with 128+signal and
// one line — unless a verb handles the signal itself (interruptible), which
// then stops cleanly and removes its own temporary files.
func cleanupOnSignal(stderr io.Writer) {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		for sig := range ch {
			if graceful.Load() > 0 {
				continue
			}
			atomicfile.RemoveTemps()
			fmt.Fprintf(stderr, "multisc: interrupted (%v); partial outputs removed\n", sig)
			code := 130
			if sig == syscall.SIGTERM {
				code = 143
			}
			os.Exit(code)
		}
	}()
}

// checkOutput reports, before long work, an output path that cannot be
// written (atomicfile.Check: missing or read-only folder, a directory or
// device at the path); "" means the flag is unset. The error names the flag
// and the user's path.
func checkOutput(flag, path string) error {
	if path == "" {
		return nil
	}
	if err := atomicfile.Check(path); err != nil {
		return badInput("%s %v", flag, err)
	}
	return nil
}

// outputError names the flag of an output whose write failed; bad input
// (an unusable path) keeps exit status 2.
func outputError(flag string, err error) error {
	if badinput.Is(err) {
		return badInput("%s %v", flag, err)
	}
	return fmt.Errorf("%s %w", flag, err)
}
