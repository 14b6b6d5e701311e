package app

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/sellerguard/sellerguard/internal/dkim"
)

// reloader is one thing that Reload (SIGHUP) reads again from disk.
type reloader struct {
	name string
	fn   func() error
}

// reloaders is the list Reload runs, in order.
type reloaders struct {
	mu   sync.Mutex
	list []reloader
}

// OnReload adds fn to what Reload (SIGHUP) runs, under a name for the log:
// the DKIM key, and the TLS certificate when SellerGuard serves TLS itself.
// fn must keep the old state when it fails.
func (a *App) OnReload(name string, fn func() error) {
	a.reload.mu.Lock()
	defer a.reload.mu.Unlock()
	a.reload.list = append(a.reload.list, reloader{name: name, fn: fn})
}

// Reload reads every reloadable file again (SIGHUP): each that fails keeps
// what it had, so a bad file never stops mail or serving. It returns every
// failure.
func (a *App) Reload() error {
	a.reload.mu.Lock()
	list := append([]reloader(nil), a.reload.list...)
	a.reload.mu.Unlock()
	var errs []error
	for _, r := range list {
		if err := r.fn(); err != nil {
			a.Logger.Error("reload failed; keeping the previous one", "what", r.name, "err", err)
			errs = append(errs, fmt.Errorf("%s: %w", r.name, err))
			continue
		}
		a.Logger.Info("reloaded", "what", r.name)
	}
	return errors.Join(errs...)
}

// reloadingSigner signs with the DKIM key loaded last; Reload swaps it.
type reloadingSigner struct {
	keyFile, domain, selector string
	current                   atomic.Pointer[dkim.Signer]
}

func newReloadingSigner(keyFile, domain, selector string) (*reloadingSigner, error) {
	s := &reloadingSigner{keyFile: keyFile, domain: domain, selector: selector}
	if err := s.load(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *reloadingSigner) load() error {
	ds, err := dkim.LoadSigner(s.keyFile, s.domain, s.selector)
	if err != nil {
		return err
	}
	s.current.Store(ds)
	return nil
}

// Sign implements mail.Signer.
func (s *reloadingSigner) Sign(raw []byte) ([]byte, error) { return s.current.Load().Sign(raw) }
