package servers

import (
	"bytes"
	"net"
	"testing"
)

// BenchmarkHandshake opens a connection, sends an opening handshake, reads
// the 101 and closes, against every library's server and against two
// floors that only take the connection over and write a fixed 101: one on
// net/http, one on fasthttp. allocs/op counts the whole process, the
// client's part included, which is the same for all: compare each with its
// floor and with one another.
//
//	go test -run ^$ -bench Handshake -benchmem ./bench/servers
func BenchmarkHandshake(b *testing.B) {
	for _, name := range Names() {
		l, _ := Lookup(name)
		if !l.WebSocket {
			continue
		}
		b.Run(name, func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			go l.Serve(ln, Options{})
			addr := ln.Addr().String()
			handshake(b, addr) // the server's first connection builds its pools
			b.ReportAllocs()
			for b.Loop() {
				handshake(b, addr)
			}
		})
	}
}

var handshakeRequest = []byte("GET / HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")

// handshake opens one WebSocket connection to addr and closes it once the
// 101 has arrived.
func handshake(b *testing.B, addr string) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Write(handshakeRequest); err != nil {
		b.Fatal(err)
	}
	var head [512]byte
	n := 0
	for !bytes.Contains(head[:n], []byte("\r\n\r\n")) {
		m, err := nc.Read(head[n:])
		if err != nil {
			b.Fatalf("reading the 101: %v after %q", err, head[:n])
		}
		n += m
	}
	if !bytes.HasPrefix(head[:n], []byte("HTTP/1.1 101 ")) {
		b.Fatalf("answer %q", head[:n])
	}
}
