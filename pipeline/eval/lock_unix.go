//go:build unix

package eval

import (
	"errors"
	"os"
	"syscall"
)

// lockFile takes an exclusive advisory lock on an open rows file, so that two
// processes never append to the same file (two jobs given the same --shard);
// errBusy when another process holds it. The lock goes with the file's close
// or the process's death.
func lockFile(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return errBusy
	}
	return err
}
