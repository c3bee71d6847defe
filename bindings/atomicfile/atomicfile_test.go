package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/multisc/multisc/bindings/badinput"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	if err := Write(path, 0o644, func(f *os.File) error { _, err := f.WriteString("first"); return err }); err != nil {
		t.Fatal(err)
	}
	// A failing writer leaves the previous content and no temporary file.
	boom := errors.New("boom")
	err := Write(path, 0o644, func(f *os.File) error { f.WriteString("half"); return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "first" {
		t.Fatalf("content %q after a failed write, want %q", b, "first")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("%d files in the folder, want 1", len(entries))
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v, want 0644", st.Mode().Perm())
	}
	// A missing folder is an error before anything is written.
	if err := Write(filepath.Join(dir, "no", "x"), 0o644, func(*os.File) error { return nil }); err == nil {
		t.Fatal("writing into a missing folder succeeded")
	}
}

func writeString(s string) func(f *os.File) error {
	return func(f *os.File) error { _, err := f.WriteString(s); return err }
}

// TestSymlinksAreWrittenThrough: a symlink output replaces its target's
// content (through relative, absolute and dangling links); the link stays.
func TestSymlinksAreWrittenThrough(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "real")
	os.Mkdir(sub, 0o755)
	target := filepath.Join(sub, "model.gguf")
	os.WriteFile(target, []byte("old"), 0o644)
	rel, abs, dangling := filepath.Join(dir, "rel"), filepath.Join(dir, "abs"), filepath.Join(dir, "dangling")
	os.Symlink("real/model.gguf", rel)
	os.Symlink(target, abs)
	os.Symlink("real/new.gguf", dangling)
	for _, tc := range []struct{ link, target, content string }{
		{rel, target, "via relative"},
		{abs, target, "via absolute"},
		{dangling, filepath.Join(sub, "new.gguf"), "via dangling"},
	} {
		if err := Check(tc.link); err != nil {
			t.Fatal(err)
		}
		if err := Write(tc.link, 0o644, writeString(tc.content)); err != nil {
			t.Fatal(err)
		}
		if st, err := os.Lstat(tc.link); err != nil || st.Mode()&os.ModeSymlink == 0 {
			t.Fatalf("%s is no longer a symlink", tc.link)
		}
		if b, _ := os.ReadFile(tc.target); string(b) != tc.content {
			t.Fatalf("%s holds %q, want %q", tc.target, b, tc.content)
		}
	}
	loop := filepath.Join(dir, "loop")
	os.Symlink("loop", loop)
	if err := Write(loop, 0o644, writeString("x")); !badinput.Is(err) || !strings.Contains(err.Error(), "symbolic links") {
		t.Fatalf("symlink loop: %v", err)
	}
}

// TestRefusals: non-regular targets and unusable folders are bad-input
// errors naming the user's path (never the temporary file), and nothing is
// created.
func TestRefusals(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	devLink := filepath.Join(dir, "null-link")
	os.Symlink("/dev/null", devLink)
	for _, tc := range []struct{ name, path, want string }{
		{"device", "/dev/null", "character device"},
		{"device via symlink", devLink, "symlink's target /dev/null"},
		{"fifo", fifo, "FIFO"},
		{"directory", dir, "is a directory"},
		{"missing folder", filepath.Join(dir, "no", "out.gguf"), "folder " + filepath.Join(dir, "no") + " does not exist"},
		{"folder is a file", filepath.Join(file, "out.gguf"), "is not a folder"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, err := range []error{Check(tc.path), Write(tc.path, 0o644, writeString("x"))} {
				if !badinput.Is(err) || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), tc.path) || strings.Contains(err.Error(), ".tmp-") {
					t.Fatalf("got %v, want a bad-input error starting with %s and naming %q", err, tc.path, tc.want)
				}
			}
		})
	}
	if st, err := os.Stat("/dev/null"); err != nil || st.Mode().IsRegular() {
		t.Fatal("/dev/null was replaced")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Fatalf("%d entries left in the folder, want 3", len(entries))
	}
}

// TestReadOnlyFolder: a folder that refuses new files is bad input naming
// the user's path (skipped where the test runs with the right to write
// anywhere, as root does).
func TestReadOnlyFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ro")
	os.Mkdir(dir, 0o555)
	defer os.Chmod(dir, 0o755)
	out := filepath.Join(dir, "out.csv")
	if f, err := os.Create(filepath.Join(dir, "probe")); err == nil {
		f.Close()
		t.Skip("this user can write into a 0555 folder (root)")
	}
	for _, err := range []error{Check(out), Write(out, 0o644, writeString("x"))} {
		if !badinput.Is(err) || !strings.Contains(err.Error(), "not writable") || !strings.HasPrefix(err.Error(), out) {
			t.Fatalf("got %v", err)
		}
	}
}

// TestRemoveTemps: a write in progress is registered; RemoveTemps deletes
// its temporary file (what the CLI's signal handler does) and the write
// then fails without leaving anything.
func TestRemoveTemps(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.gguf")
	err := Write(out, 0o644, func(f *os.File) error {
		f.WriteString("partial")
		if n := RemoveTemps(); n != 1 {
			t.Errorf("RemoveTemps removed %d files, want 1", n)
		}
		return nil
	})
	if err == nil {
		t.Fatal("write succeeded after its temporary file was removed")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("%d files left", len(entries))
	}
	if n := RemoveTemps(); n != 0 {
		t.Fatalf("RemoveTemps after the write: %d", n)
	}
}
