package wstest

import gws "github.com/gwsgo/gws/core"

// Echo is the testee's event handler: it sends every text and binary
// message back unchanged, with the same opcode, as Autobahn's echo testee
// does. Its zero value is ready to use.
type Echo struct{}

func (Echo) OnOpen(*gws.Conn)                    {}
func (Echo) OnClose(*gws.Conn, gws.Code, []byte) {}
func (Echo) OnError(*gws.Conn, error)            {}
func (Echo) OnPing(*gws.Conn, []byte)            {}
func (Echo) OnPong(*gws.Conn, []byte)            {}

func (Echo) OnMessage(c *gws.Conn, m *gws.Message) {
	_ = c.Write(m.Opcode, m.Bytes())
	m.Close()
}
