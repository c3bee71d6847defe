// Package atomicfile writes output files so that no reader, crash or
// interruption ever sees half of one: the content goes to a temporary file
// in the same folder, which is renamed over the target only when complete.
//
// Policies:
//   - Symlinks are written through: when the output path is a symlink (even
//     a dangling one), the file it points to is replaced, via a temporary
//     file in the target's folder; the link itself stays a link.
//   - Only regular files are replaced: a directory, device node (/dev/full),
//     FIFO or socket at the target is refused, never turned into a file.
//   - Errors name the user's path, never the hidden temporary file; a
//     missing, non-folder or unwritable folder, and a non-regular target,
//     are bad-input errors (the CLI's exit status 2). Check runs the same
//     checks before long work.
//   - Every temporary file is registered while it exists; RemoveTemps
//     deletes those left, for a signal handler (the CLI's on SIGINT and
//     SIGTERM), so an interrupted write leaves nothing behind.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/multisc/multisc/bindings/badinput"
)

// Write creates or replaces path with what write puts into the file it is
// given. On any error the temporary file is removed and path is untouched.
// The file gets mode perm (0o644 for outputs a user shares).
func Write(path string, perm os.FileMode, write func(f *os.File) error) (err error) {
	target, err := resolve(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".tmp-*")
	if err != nil {
		return folderError(path, target, err)
	}
	untrack := Track(tmp.Name())
	defer untrack()
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	wrap := func(e error) error {
		var pe *fs.PathError
		if errors.As(e, &pe) && pe.Path == tmp.Name() {
			e = pe.Err // name the user's path, not the temporary file
		}
		return fmt.Errorf("writing %s: %w", path, e)
	}
	if err = write(tmp); err != nil {
		return wrap(err)
	}
	if err = tmp.Sync(); err != nil {
		return wrap(err)
	}
	if err = tmp.Close(); err != nil {
		return wrap(err)
	}
	// CreateTemp makes 0600 files.
	if err = os.Chmod(tmp.Name(), perm); err != nil {
		return wrap(err)
	}
	// The target may have changed since resolve: refuse to replace anything
	// that became a non-regular file meanwhile.
	if err = checkTarget(path, target); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), target); err != nil {
		var le *os.LinkError
		if errors.As(err, &le) {
			err = le.Err
		}
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// Check reports, before long work, whether Write(path) could succeed: the
// target is absent or a regular file (through symlinks), and its folder
// exists and accepts a new file (tried by creating and removing one).
func Check(path string) error {
	target, err := resolve(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".check-*")
	if err != nil {
		return folderError(path, target, err)
	}
	untrack := Track(tmp.Name())
	tmp.Close()
	os.Remove(tmp.Name())
	untrack()
	return nil
}

// resolve follows symlinks from path to the file that Write replaces (which
// may not exist yet) and checks that it is not a non-regular file.
func resolve(path string) (string, error) {
	if path == "" {
		return "", badinput.Errorf("empty output path")
	}
	target := path
	for range 40 {
		st, err := os.Lstat(target)
		if errors.Is(err, fs.ErrNotExist) {
			return target, nil
		}
		if err != nil {
			return "", folderError(path, target, err)
		}
		if st.Mode()&fs.ModeSymlink == 0 {
			return target, checkTarget(path, target)
		}
		link, err := os.Readlink(target)
		if err != nil {
			return "", badinput.Errorf("%s: %v", path, err)
		}
		if !filepath.IsAbs(link) {
			link = filepath.Join(filepath.Dir(target), link)
		}
		target = link
	}
	return "", badinput.Errorf("%s: too many levels of symbolic links", path)
}

// checkTarget refuses to replace an existing target that is not a regular
// file.
func checkTarget(path, target string) error {
	st, err := os.Stat(target)
	if err != nil {
		return nil // absent (or unreadable: the rename will say)
	}
	via := ""
	if target != path {
		via = " (the symlink's target " + target + ")"
	}
	switch m := st.Mode(); {
	case m.IsDir():
		return badinput.Errorf("%s%s: is a directory, not an output file", path, via)
	case !m.IsRegular():
		return badinput.Errorf("%s%s: is not a regular file (%s); refusing to replace it", path, via, kind(m))
	}
	return nil
}

func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeDevice != 0 && m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return m.Type().String()
}

// folderError words a failure to create a file in the target's folder,
// naming the user's path and the folder.
func folderError(path, target string, err error) error {
	dir := filepath.Dir(target)
	st, serr := os.Stat(dir)
	switch {
	case errors.Is(serr, fs.ErrNotExist):
		return badinput.Errorf("%s: folder %s does not exist", path, dir)
	case serr == nil && !st.IsDir():
		return badinput.Errorf("%s: %s is not a folder", path, dir)
	case errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS):
		return badinput.Errorf("%s: folder %s is not writable", path, dir)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("%s: cannot create a file in %s: %w", path, dir, err)
}

var (
	tempsMu sync.Mutex
	temps   = map[string]bool{}
)

// Track registers a temporary file or folder to be deleted by RemoveTemps;
// the returned function unregisters it (once it is renamed or removed).
func Track(path string) (untrack func()) {
	tempsMu.Lock()
	temps[path] = true
	tempsMu.Unlock()
	return func() {
		tempsMu.Lock()
		delete(temps, path)
		tempsMu.Unlock()
	}
}

// RemoveTemps deletes every registered temporary file or folder still
// present and returns how many it removed. Safe to call from a signal
// handler's goroutine while writes are in progress: the write then fails.
func RemoveTemps() int {
	tempsMu.Lock()
	defer tempsMu.Unlock()
	n := 0
	for p := range temps {
		if os.RemoveAll(p) == nil {
			n++
		}
		delete(temps, p)
	}
	return n
}
