package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/pflag"
	"golang.org/x/term"

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
	if e.Threads < 0 {
		return badInput("--threads must be >= 0, got %d", e.Threads)
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

// interruptible returns a context cancelled by Ctrl-C (SIGINT) or SIGTERM,
// for long loops that stop cleanly and keep their finished results; stop
// restores the default signal handling.
func interruptible() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// checkOutputDir reports bad input when an output file's folder does not
// exist ("" means the flag is unset).
func checkOutputDir(flag, path string) error {
	if path == "" {
		return nil
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return badInput("%s %q: folder %s does not exist", flag, path, dir)
	}
	return nil
}
