// Command sendbatch measures what io_uring would save a one-at-a-time
// broadcast: the sender's CPU time per delivered message when one frame
// goes to every one of -conns loopback TCP sockets, one round at a time
// (the next round when a reader process holds all of the last), sent
// either with a sendto(2) per socket, as every WebSocket library does, or
// with one io_uring_enter(2) carrying an IORING_OP_SEND per socket.
//
// No WebSocket library is involved: this is the kernel's part of the
// bench module's broadcast-1k-single scenario, to decide whether a
// batched send path in core is worth building. The two ways alternate,
// in reverse order every other repetition; the sender runs on CPU 0 and
// the reader on CPU 1 (taskset).
//
//	go build -o /tmp/sendbatch ./bench/cmd/sendbatch && taskset -c 0 /tmp/sendbatch
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"time"
	"unsafe"
)

func main() {
	reader := flag.String("reader", "", "run as the reader, connecting to this address (started by the sender)")
	conns := flag.Int("conns", 1000, "sockets a frame goes to per round")
	size := flag.Int("size", 256, "bytes per frame")
	reps := flag.Int("reps", 4, "repetitions of each way")
	window := flag.Duration("duration", 2*time.Second, "measured time per way per repetition")
	readerCPU := flag.Int("reader-cpu", 1, "CPU the reader is pinned to")
	flag.Parse()
	if *reader != "" {
		if err := read(*reader, *conns, *size); err != nil {
			log.Fatal(err)
		}
		return
	}
	if err := send(*conns, *size, *reps, *window, *readerCPU); err != nil {
		log.Fatal(err)
	}
}

// way sends one frame to every socket and returns once the kernel took
// all of them.
type way struct {
	name string
	send func() error
}

func send(conns, size, reps int, window time.Duration, readerCPU int) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command("taskset", "-c", fmt.Sprint(readerCPU), self,
		"-reader", ln.Addr().String(), "-conns", fmt.Sprint(conns), "-size", fmt.Sprint(size))
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer cmd.Process.Kill()
	ctl, err := ln.Accept()
	if err != nil {
		return err
	}
	// The sockets' descriptors are used directly; the files keep them open.
	fds := make([]int, conns)
	files := make([]*os.File, conns)
	for i := range fds {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		if files[i], err = c.(*net.TCPConn).File(); err != nil {
			return err
		}
		c.Close()
		fds[i] = int(files[i].Fd())
	}
	frame := make([]byte, size)
	r, err := newRing(uint32(conns))
	if err != nil {
		return fmt.Errorf("io_uring: %w", err)
	}
	ways := []way{
		{"sendto", func() error { return sendEach(fds, frame) }},
		{"io_uring", func() error { return r.sendAll(fds, frame) }},
	}
	var ack [1]byte
	round := func(w way) error {
		if err := w.send(); err != nil {
			return fmt.Errorf("%s: %w", w.name, err)
		}
		_, err := ctl.Read(ack[:])
		return err
	}
	perCPU := map[string][]float64{}
	for rep := range reps {
		order := slices.Clone(ways)
		if rep%2 == 1 {
			slices.Reverse(order)
		}
		for _, w := range order {
			for range 50 { // warm-up
				if err := round(w); err != nil {
					return err
				}
			}
			cpu0 := cpuTime()
			t0, rounds := time.Now(), 0
			for time.Since(t0) < window {
				if err := round(w); err != nil {
					return err
				}
				rounds++
			}
			cpu := cpuTime() - cpu0
			rate := float64(rounds*conns) / cpu.Seconds()
			perCPU[w.name] = append(perCPU[w.name], rate)
			fmt.Printf("rep %d  %-8s  %5d rounds  %8.0f msg per CPU-s  %v CPU per msg\n",
				rep+1, w.name, rounds, rate, cpu/time.Duration(rounds*conns))
		}
	}
	a, b := median(perCPU["io_uring"]), median(perCPU["sendto"])
	fmt.Printf("medians: io_uring %.0f, sendto %.0f msg per CPU-s: io_uring %.2fx\n", a, b, a/b)
	return nil
}

// sendEach is what a WebSocket library does: one system call per socket,
// sendto(2) as gws makes it.
func sendEach(fds []int, frame []byte) error {
	for _, fd := range fds {
		n, _, errno := syscall.Syscall6(syscall.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&frame[0])), uintptr(len(frame)), syscall.MSG_DONTWAIT, 0, 0)
		if errno != 0 {
			return errno
		}
		if int(n) != len(frame) {
			return errors.New("short write")
		}
	}
	return nil
}

// cpuTime is the process's user and system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

// read opens conns connections to addr and one for acknowledgements,
// drains them all with epoll, and acknowledges every round once it holds
// conns × size bytes.
func read(addr string, conns, size int) error {
	ctl, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	var keep []*os.File
	for range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return err
		}
		f, err := c.(*net.TCPConn).File()
		if err != nil {
			return err
		}
		c.Close()
		keep = append(keep, f)
		fd := int(f.Fd())
		if err := syscall.SetNonblock(fd, true); err != nil {
			return err
		}
		if err := syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, fd, &syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(fd)}); err != nil {
			return err
		}
	}
	events := make([]syscall.EpollEvent, 256)
	buf := make([]byte, 64<<10)
	held := 0
	for {
		k, err := syscall.EpollWait(ep, events, -1)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		for _, ev := range events[:k] {
			n, err := syscall.Read(int(ev.Fd), buf)
			if n == 0 && err == nil {
				return nil // the sender is gone
			}
			if n > 0 {
				held += n
			}
		}
		for ; held >= conns*size; held -= conns * size {
			if _, err := ctl.Write([]byte{1}); err != nil {
				return nil
			}
		}
	}
}
