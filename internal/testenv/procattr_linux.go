package testenv

import "syscall"

// procAttr makes a server subprocess die with the test binary, even when
// the test binary is killed (for example by go test -timeout).
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
