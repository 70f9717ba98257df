package loadgen

import (
	"bytes"
	"fmt"
	"math/bits"
	"os"
	"strconv"
	"syscall"
	"unsafe"
)

// clockTicks is USER_HZ, the unit of times in /proc/PID/stat: fixed at 100
// by the Linux ABI whatever the kernel's own HZ.
const clockTicks = 100

// ProcCPU returns the user+system CPU seconds that process pid has used, all
// its threads together, including threads that have exited.
func ProcCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name in parentheses may hold spaces; fields are counted
	// after its closing parenthesis.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	f := bytes.Fields(b[i+1:])
	// After ')' come state (field 3), ..., utime (14), stime (15).
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	ut, err1 := strconv.ParseUint(string(f[11]), 10, 64)
	st, err2 := strconv.ParseUint(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad times", pid)
	}
	return float64(ut+st) / clockTicks, nil
}

// ProcRSS returns the resident memory of process pid in bytes (VmRSS).
func ProcRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			f := bytes.Fields(v)
			if len(f) < 1 {
				break
			}
			kb, err := strconv.ParseInt(string(f[0]), 10, 64)
			if err != nil {
				break
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
}

// PinnedCPU returns the one CPU process pid may run on, or -1 if it may run
// on several.
func PinnedCPU(pid int) int {
	var mask [16]uint64
	_, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_GETAFFINITY, uintptr(pid), unsafe.Sizeof(mask), uintptr(unsafe.Pointer(&mask)))
	if errno != 0 {
		return -1
	}
	cpu := -1
	for i, w := range mask {
		for w != 0 {
			if cpu >= 0 {
				return -1
			}
			cpu = i*64 + bits.TrailingZeros64(w)
			w &= w - 1
		}
	}
	return cpu
}

// CPUTimes returns how long CPU cpu has been busy (user, nice, system, irq
// and softirq) and how much time the hypervisor has stolen from it, in
// seconds, from /proc/stat. With the kernel's tick-based accounting a
// process's CPU time includes the interrupts serviced while it ran, so busy
// minus the server's CPU time is what everything else used.
func CPUTimes(cpu int) (busy, steal float64, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	prefix := []byte(fmt.Sprintf("cpu%d ", cpu))
	for _, line := range bytes.Split(b, []byte("\n")) {
		if !bytes.HasPrefix(line, prefix) {
			continue
		}
		f := bytes.Fields(line[len(prefix):])
		if len(f) < 8 {
			break
		}
		var v [8]uint64
		for i := range v {
			if v[i], err = strconv.ParseUint(string(f[i]), 10, 64); err != nil {
				return 0, 0, err
			}
		}
		// user nice system idle iowait irq softirq steal
		busy = float64(v[0]+v[1]+v[2]+v[5]+v[6]) / clockTicks
		return busy, float64(v[7]) / clockTicks, nil
	}
	return 0, 0, fmt.Errorf("/proc/stat: no cpu%d", cpu)
}

// selfCPU is this process's user+system CPU seconds, at microsecond
// resolution.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
