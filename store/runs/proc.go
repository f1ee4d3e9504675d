package runs

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// processToken identifies a process instance beyond its pid: on Linux the
// boot id and the process start time (field 22 of /proc/<pid>/stat), so a
// recycled pid is a different token. Elsewhere it is "".
func processToken(pid int) string {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	s := string(stat)
	// The command name (field 2) may contain spaces; fields resume after ')'.
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); the start time is field 22.
	if len(f) < 20 {
		return ""
	}
	boot, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	return strings.TrimSpace(string(boot)) + "/" + f[19]
}

// processAlive reports whether pid runs and, when a token was recorded, is
// still the same process instance.
func processAlive(pid int, token string, tokenOf func(int) string) bool {
	if pid <= 0 {
		return false
	}
	if token != "" {
		if cur := tokenOf(pid); cur != "" {
			return cur == token
		}
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}
