package main

import (
	"fmt"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// The io_uring ABI (linux/io_uring.h), as much of it as sending needs.
const (
	sysIOURingSetup = 425 // the same number on every architecture since 5.1
	sysIOURingEnter = 426

	opSend           = 26 // IORING_OP_SEND
	enterGetEvents   = 1  // IORING_ENTER_GETEVENTS
	featSingleMmap   = 1  // IORING_FEAT_SINGLE_MMAP
	offSQRing        = 0
	offCQRing        = 0x8000000
	offSQEs          = 0x10000000
	sqeSize, cqeSize = 64, 16
)

// ringOffsets is io_sqring_offsets or io_cqring_offsets: where the ring's
// fields are in its mapping.
type ringOffsets struct {
	head, tail, mask, entries, flagsOrOverflow, arrayOrCQEs, flagsOrResv, resv uint32
	userAddr                                                                   uint64
}

// params is struct io_uring_params.
type params struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	resv                                                                   [3]uint32
	sq, cq                                                                 ringOffsets
}

// sqe is struct io_uring_sqe for a send.
type sqe struct {
	opcode, flags uint8
	ioprio        uint16
	fd            int32
	off, addr     uint64
	len, msgFlags uint32
	userData      uint64
	pad           [3]uint64
}

// cqe is struct io_uring_cqe.
type cqe struct {
	userData uint64
	res      int32
	flags    uint32
}

// ring is an io_uring instance with its three mappings.
type ring struct {
	fd             int
	sqTail, cqHead *uint32
	cqTail         *uint32
	sqMask, cqMask uint32
	sqArray        []uint32
	sqes           []sqe
	cqes           []cqe
}

func newRing(entries uint32) (*ring, error) {
	var p params
	fd, _, errno := syscall.Syscall(sysIOURingSetup, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		return nil, errno
	}
	r := &ring{fd: int(fd)}
	sqLen := int(p.sq.arrayOrCQEs + p.sqEntries*4)
	cqLen := int(p.cq.arrayOrCQEs + p.cqEntries*cqeSize)
	mmap := func(off int64, n int) ([]byte, error) {
		return syscall.Mmap(r.fd, off, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED|syscall.MAP_POPULATE)
	}
	sq, err := mmap(offSQRing, max(sqLen, cqLen))
	if err != nil {
		return nil, err
	}
	cq := sq
	if p.features&featSingleMmap == 0 {
		if cq, err = mmap(offCQRing, cqLen); err != nil {
			return nil, err
		}
	}
	se, err := mmap(offSQEs, int(p.sqEntries)*sqeSize)
	if err != nil {
		return nil, err
	}
	at := func(b []byte, off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&b[off])) }
	r.sqTail, r.sqMask = at(sq, p.sq.tail), *at(sq, p.sq.mask)
	r.sqArray = unsafe.Slice(at(sq, p.sq.arrayOrCQEs), p.sqEntries)
	r.cqHead, r.cqTail, r.cqMask = at(cq, p.cq.head), at(cq, p.cq.tail), *at(cq, p.cq.mask)
	r.cqes = unsafe.Slice((*cqe)(unsafe.Pointer(&cq[p.cq.arrayOrCQEs])), p.cqEntries)
	r.sqes = unsafe.Slice((*sqe)(unsafe.Pointer(&se[0])), p.sqEntries)
	if len(r.sqes) < int(entries) {
		return nil, fmt.Errorf("ring has %d entries, want %d", len(r.sqes), entries)
	}
	return r, nil
}

// sendAll queues a send of frame to every descriptor, submits them with
// one io_uring_enter and waits for all completions, failing on any send
// that did not take the whole frame.
func (r *ring) sendAll(fds []int, frame []byte) error {
	tail := atomic.LoadUint32(r.sqTail)
	for i, fd := range fds {
		idx := tail & r.sqMask
		r.sqes[idx] = sqe{opcode: opSend, fd: int32(fd), addr: uint64(uintptr(unsafe.Pointer(&frame[0]))),
			len: uint32(len(frame)), msgFlags: syscall.MSG_DONTWAIT, userData: uint64(i)}
		r.sqArray[idx] = idx
		tail++
	}
	atomic.StoreUint32(r.sqTail, tail)
	submit, done := len(fds), 0
	for done < len(fds) {
		n, _, errno := syscall.Syscall6(sysIOURingEnter, uintptr(r.fd), uintptr(submit), uintptr(len(fds)-done), enterGetEvents, 0, 0)
		if errno != 0 && errno != syscall.EINTR {
			return errno
		}
		submit -= int(n)
		head, end := atomic.LoadUint32(r.cqHead), atomic.LoadUint32(r.cqTail)
		for ; head != end; head++ {
			if c := r.cqes[head&r.cqMask]; c.res != int32(len(frame)) {
				return fmt.Errorf("send to socket %d: result %d", c.userData, c.res)
			}
			done++
		}
		atomic.StoreUint32(r.cqHead, head)
	}
	return nil
}
