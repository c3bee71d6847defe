// Package badinput is the one error class for malformed user input: an
// unreadable or truncated file, a wrong tensor, an impossible flag value.
// Every package returns it for such input, and the CLI maps it to exit
// status 2 with one line naming the problem and the file or flag.
package badinput

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Error is a bad-input error. Its message already names the file or flag.
type Error struct {
	Msg string
	Err error // optional cause, for errors.Is/As
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

// Errorf formats a bad-input error; a %w verb keeps the cause reachable.
func Errorf(format string, a ...any) error {
	err := fmt.Errorf(format, a...)
	return &Error{Msg: err.Error(), Err: errors.Unwrap(err)}
}

// Is reports whether err is (or wraps) a bad-input error.
func Is(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

// CheckFile reports, as a bad-input error naming path, the usual reasons a
// file argument cannot be read: it does not exist, is a directory or another
// non-regular file, or may not be read. kind names what was expected
// ("image file", "GGUF model file").
func CheckFile(path, kind string) error {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return Errorf("%s: no such %s", path, kind)
	case errors.Is(err, fs.ErrPermission):
		return Errorf("%s: permission denied", path)
	case err != nil:
		return Errorf("%s: %v", path, err)
	case st.IsDir():
		return Errorf("%s: is a directory, not a %s", path, kind)
	case !st.Mode().IsRegular():
		return Errorf("%s: not a regular file", path)
	}
	return nil
}
