//go:build !unix

package keys

// lockFile is a no-op where flock is missing: run one `keys rotate` at a time.
func lockFile(string) (func(), error) { return func() {}, nil }
