//go:build unix

package keys

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive advisory lock on path (created 0600), released
// by unlock or when the process dies.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) // closing releases it too
		_ = f.Close()
	}, nil
}
