package gwsklauspost

import (
	"bufio"
	"bytes"
	stdflate "compress/flate"
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	gws "github.com/gwsgo/gws/core"
	"github.com/klauspost/compress/flate"
)

// TestCodecContract checks what gws relies on, for every level gws uses:
// the writer flushes and resets, its output (sync-flushed, as
// permessage-deflate sends it) inflates with the standard library, and
// the reader resets with a dictionary, as under context takeover.
func TestCodecContract(t *testing.T) {
	text := []byte(strings.Repeat("permessage-deflate with klauspost/compress. ", 100))
	for level := flate.HuffmanOnly; level <= flate.BestCompression; level++ {
		if level == flate.DefaultCompression {
			continue
		}
		var out bytes.Buffer
		w, err := Codec{}.NewWriter(io.Discard, level)
		if err != nil {
			t.Fatalf("level %d: %v", level, err)
		}
		fw := w.(interface {
			io.Writer
			Flush() error
			Reset(io.Writer)
		})
		fw.Reset(&out)
		fw.Write(text)
		fw.Flush()
		got, err := io.ReadAll(stdflate.NewReader(io.MultiReader(&out, bytes.NewReader([]byte{1, 0, 0, 0xff, 0xff}))))
		if err != nil || !bytes.Equal(got, text) {
			t.Fatalf("level %d: standard inflate got %d bytes, %v", level, len(got), err)
		}
	}

	// A message compressed with the first one as history, inflated by
	// this codec's reader reset with that history.
	var out bytes.Buffer
	sw, _ := stdflate.NewWriter(&out, stdflate.BestCompression)
	sw.Write(text)
	sw.Flush()
	out.Reset()
	sw.Write(text)
	sw.Flush()
	r := Codec{}.NewReader(bytes.NewReader(nil))
	if err := r.(flate.Resetter).Reset(io.MultiReader(&out, bytes.NewReader([]byte{1, 0, 0, 0xff, 0xff})), text); err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, text) {
		t.Fatalf("inflate with a dictionary got %d bytes, %v", len(got), err)
	}
}

// closeCode records how a connection ended.
type closeCode struct {
	gws.NopHandler
	code chan gws.Code
}

func (c closeCode) OnClose(_ *gws.Conn, code gws.Code, _ []byte) { c.code <- code }

// TestDecompressionBomb sends 4 KiB that inflate to 4 MiB of zeros to a
// server inflating with this codec under a 64 KiB limit: the connection
// must end with 1009 once the output passes the limit, and the server's
// memory must not grow anywhere near the inflated size. The bomb is built
// and sent from a bare TCP connection, so that only the server allocates
// while it is measured. (It is smaller than core's 64 MiB one, which takes
// a minute to build under the race detector; the ratio is what counts.)
func TestDecompressionBomb(t *testing.T) {
	goroutines := runtime.NumGoroutine()
	const limit = 64 << 10
	var bomb bytes.Buffer
	fw, _ := flate.NewWriter(&bomb, flate.BestCompression)
	fw.Write(make([]byte, 4<<20))
	fw.Flush()
	payload := bomb.Bytes()[:bomb.Len()-4] // RFC 7692 drops the sync flush's tail
	frame := append([]byte{0x80 | 0x40 | 0x2, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, payload...)
	binary.BigEndian.PutUint64(frame[2:10], uint64(len(payload))) // masked with a zero key

	server := closeCode{code: make(chan gws.Code, 1)}
	upgrader := &gws.Upgrader{ServerOptions: &gws.ServerOptions{
		CompressEnabled: true, CompressCodec: Codec{}, ReadMaxPayloadSize: limit,
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upgrader.Upgrade(context.Background(), w, r, server)
	}))
	defer srv.Close()
	nc, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	io.WriteString(nc, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"+
		"Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n")
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(nc)
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Extensions") == "" {
		t.Fatalf("handshake: %v %v", resp, err)
	}

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	nc.Write(frame)
	select {
	case code := <-server.code:
		if code != gws.CloseMessageTooBig {
			t.Errorf("server closed with %d, want 1009", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not close")
	}
	runtime.ReadMemStats(&after)
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 16*limit {
		t.Fatalf("server allocated %d bytes inflating a bomb capped at %d", grown, limit)
	}
	head := make([]byte, 4)
	if _, err := io.ReadFull(br, head); err != nil || head[0] != 0x88 || binary.BigEndian.Uint16(head[2:]) != 1009 {
		t.Fatalf("close frame % x, %v; want 1009", head, err)
	}
	nc.Close()
	srv.Close()
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > goroutines; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines left, %d before the test", runtime.NumGoroutine(), goroutines)
		}
	}
}
