//go:build !unix

package eval

import "os"

// lockFile is a no-op where flock(2) does not exist.
func lockFile(f *os.File) error { return nil }
