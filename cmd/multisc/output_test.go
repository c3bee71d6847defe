package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/multisc/multisc/internal/loopback"

	"github.com/multisc/multisc/bindings/atomicfile"
)

// TestMain doubles as the child process of TestSignalCleanup: with
// MULTISC_SIGNAL_CHILD=DIR it installs the CLI's signal handler, starts an
// atomic write into DIR that never finishes, says so on stdout and waits.
// Otherwise it runs the tests with no way out of the loopback
// (loopback.Guard).
func TestMain(m *testing.M) {
	if dir := os.Getenv("MULTISC_SIGNAL_CHILD"); dir != "" {
		cleanupOnSignal(os.Stderr)
		atomicfile.Write(filepath.Join(dir, "model.gguf"), 0o644, func(f *os.File) error {
			f.WriteString("partial")
			os.Stdout.WriteString("writing\n")
			select {}
		})
		os.Exit(0)
	}
	refused := loopback.Guard()
	code := m.Run()
	if r := refused(); len(r) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: tests tried to reach beyond the loopback: %v\n", r)
		code = 1
	}
	os.Exit(code)
}

// TestSignalCleanup: SIGTERM or SIGINT during a write removes the temporary
// file, prints one line and exits with 128+signal.
func TestSignalCleanup(t *testing.T) {
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGTERM, 143}, {syscall.SIGINT, 130}} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "MULTISC_SIGNAL_CHILD="+dir)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, _ := bufio.NewReader(out).ReadString('\n')
			if line != "writing\n" {
				cmd.Process.Kill()
				t.Fatalf("child said %q", line)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Fatalf("%d files while writing, want the temporary one", len(entries))
			}
			cmd.Process.Signal(tc.sig)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != tc.code {
					t.Fatalf("child ended with %v, want exit status %d", err, tc.code)
				}
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
				t.Fatal("child did not exit on the signal")
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Fatalf("%d files left after the signal: %v", len(entries), entries[0].Name())
			}
			if s := stderr.String(); strings.Count(s, "\n") != 1 || !strings.Contains(s, "interrupted") {
				t.Fatalf("stderr %q, want one line saying interrupted", s)
			}
		})
	}
}

// TestOutputPaths: outputs that cannot be written are refused before any
// work with one line naming the flag and the user's path (never a hidden
// temporary file) and exit status 2; a symlink output is written through.
func TestOutputPaths(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "no", "x.gguf")
	file := filepath.Join(dir, "plain")
	os.WriteFile(file, []byte("x"), 0o644)
	for _, tc := range []struct {
		name      string
		args      []string
		fragments []string
	}{
		{"synth to a device", []string{"synth", "--arch", "alexnet", "--out", "/dev/full"}, []string{"--out", "/dev/full", "not a regular file", "character device"}},
		{"synth to a folder", []string{"synth", "--arch", "alexnet", "--out", dir}, []string{"--out", dir, "is a directory"}},
		{"synth into a missing folder", []string{"synth", "--arch", "alexnet", "--out", missing}, []string{"--out", missing, "does not exist"}},
		{"convert into a missing folder", []string{"convert", "--arch", "alexnet", "--out", missing, "x.pth"}, []string{"--out", missing, "does not exist"}},
		{"quantize into a file's child", []string{"quantize", file, filepath.Join(file, "q.gguf")}, []string{filepath.Join(file, "q.gguf"), "is not a folder"}},
		{"ber csv to a device", []string{"channel", "ber", "--bits", "100", "--csv", "/dev/null"}, []string{"--csv", "/dev/null", "character device"}},
		{"ber plot into a missing folder", []string{"channel", "ber", "--bits", "100", "--plot", missing + ".png"}, []string{"--plot", "does not exist"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runCLI(t, tc.args...)
			wantBadInput(t, stderr, code, tc.fragments...)
			if strings.Contains(stderr, ".tmp-") || strings.Contains(stderr, "multisc: multisc") {
				t.Fatalf("stderr %q names a temporary file or repeats the prefix", stderr)
			}
		})
	}
	if st, err := os.Stat("/dev/full"); err != nil || st.Mode().IsRegular() {
		t.Fatal("/dev/full was replaced by a file")
	}
	real := filepath.Join(dir, "real.gguf")
	link := filepath.Join(dir, "link.gguf")
	os.Symlink("real.gguf", link)
	if _, stderr, code := runCLI(t, "synth", "--arch", "alexnet", "--out", link); code != 0 {
		t.Fatal(stderr)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Fatal("the symlink was replaced")
	}
	if _, stderr, code := runCLI(t, "inspect", real); code != 0 {
		t.Fatalf("the symlink's target: %s", stderr)
	}
}

// TestTypeRefusals: synth and convert refuse a type no tensor can take,
// with one line naming the type and why, and write nothing.
func TestTypeRefusals(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "x.gguf")
	trunk, lin := "../../models/lpips/testdata/alexnet_tiny.pth", "../../models/lpips/testdata/alex_tiny.pth"
	for _, args := range [][]string{
		{"synth", "--arch", "lpips", "--out", out, "--type", "q8_0"},
		{"convert", "--arch", "lpips", "--out", out, "--type", "q4_k", trunk, lin},
	} {
		_, stderr, code := runCLI(t, args...)
		wantBadInput(t, stderr, code, "--type q", "convolution kernels go no lower than f16", "nothing written")
		if strings.HasPrefix(stderr, "multisc: --out") {
			t.Errorf("stderr %q blames --out", stderr)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatal("a refused type wrote the output")
		}
	}
	// A file named twice is named once in the error.
	_, stderr, code := runCLI(t, "convert", "--arch", "lpips", "--out", out, trunk, trunk)
	wantBadInput(t, stderr, code, "lin0.model.1.weight is missing")
	if n := strings.Count(stderr, "alexnet_tiny.pth"); n != 2 {
		t.Errorf("stderr names the inputs %d times, want once each: %s", n, stderr)
	}
}
