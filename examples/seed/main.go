package main

import (
	"context"
	"encoding/json"
	"github.com/gwsgo/gws/core"
	"net/http"
	"sync"
)

type Handler struct {
	sessions sync.Map
}

func (h *Handler) OnOpen(s *gws.Conn) {
	name, _ := s.Storage.Get("name")
	h.sessions.Store(name.(string), s)

	go func(socket *gws.Conn, key string) {
		for {
			<-socket.Context.Done()
			h.sessions.Delete(key)
		}
	}(s, name.(string))
}

func (h *Handler) OnClose(socket *gws.Conn, code gws.Code, reason []byte) {}

func (h *Handler) OnMessage(socket *gws.Conn, m *gws.Message) {
	var request = struct {
		To      string `json:"to"`
		Message string `json:"message"`
	}{}
	json.Unmarshal(m.Bytes(), &request)
	defer m.Close()

	if receiver, ok := h.sessions.Load(request.To); ok {
		receiver.(*gws.Conn).Write(gws.OpcodeText, m.Bytes())
	}
}

func (h *Handler) OnError(socket *gws.Conn, err error) {}

func (h *Handler) OnPing(socket *gws.Conn, m []byte) {}

func (h *Handler) OnPong(socket *gws.Conn, m []byte) {}

func main() {
	var upgrader = gws.Upgrader{
		ServerOptions: &gws.ServerOptions{
			LogEnabled:      true,
			CompressEnabled: false,
		},
		CheckOrigin: func(r *gws.Request) bool {
			if name := r.URL.Query().Get("name"); name != "" {
				r.Storage.Put("name", name)
				return true
			}
			return false
		},
	}

	var handler = &Handler{sessions: sync.Map{}}
	var ctx = context.Background()

	http.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		upgrader.Upgrade(ctx, w, r, handler)
	})

	http.ListenAndServe(":3000", nil)
}
