package wstest

import gws "github.com/gwsgo/gws/core"

// Echo is the testee's event handler: it sends every text and binary
// message back unchanged, with the same opcode, as Autobahn's echo testee
// does. Its zero value is ready to use.
type Echo struct{}

// OnOpen does nothing: the testee waits for the client to speak first.
func (Echo) OnOpen(*gws.Conn) {}

// OnClose does nothing: gws has answered the client's close frame by then,
// and the cases judge what it sent.
func (Echo) OnClose(*gws.Conn, gws.Code, []byte) {}

// OnError does nothing: the cases judge the close frame gws sends, and a
// testee that logged every deliberate protocol error would drown the test
// output.
func (Echo) OnError(*gws.Conn, error) {}

// OnPing does nothing: gws has already answered the ping with a pong.
func (Echo) OnPing(*gws.Conn, []byte) {}

// OnPong does nothing: unsolicited pongs are to be ignored.
func (Echo) OnPong(*gws.Conn, []byte) {}

// OnMessage sends m back with its opcode and returns its buffer to gws's
// pool. A failed write needs no handling here: gws then ends the
// connection and reports the error to OnError.
func (Echo) OnMessage(c *gws.Conn, m *gws.Message) {
	_ = c.Write(m.Opcode, m.Bytes())
	m.Close()
}
