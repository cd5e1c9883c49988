//go:build unix

package bench

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"strconv"
	"syscall"
)

// maxRSS is the peak resident memory of an exited process, in bytes, as its
// rusage gives it. On Linux that figure is at least the parent's own peak at
// the time of the start (the child began in the parent's address space, and
// the kernel carries that space's peak over the exec), so a child there
// reports its own peak (ownPeakRSS) and this is the fallback.
func maxRSS(ps *os.ProcessState) int64 {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return int64(ru.Maxrss) // bytes there, kilobytes elsewhere
	}
	return int64(ru.Maxrss) * 1024
}

// ownPeakRSS is this process's peak resident memory in its own address
// space (Linux's VmHWM), in bytes; 0 where the system does not say.
func ownPeakRSS() int64 { return procStatus("VmHWM:") }

// currentRSS is this process's resident memory now (Linux's VmRSS), in
// bytes; 0 where the system does not say.
func currentRSS() int64 { return procStatus("VmRSS:") }

// procStatus reads a size in kB from /proc/self/status, in bytes.
func procStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := bytes.CutPrefix(sc.Bytes(), []byte(field)); ok {
			kb, err := strconv.ParseInt(string(bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(v), []byte("kB")))), 10, 64)
			if err != nil {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}
