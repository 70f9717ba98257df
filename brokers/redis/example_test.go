package gwsredis_test

import (
	"log"

	gwsredis "github.com/gwsgo/gws/brokers/redis"
	"github.com/gwsgo/gws/core/rooms"
)

// A node of a cluster: its Hub meets the other nodes' through the broker.
func ExampleConnect() {
	broker, err := gwsredis.Connect("redis://127.0.0.1:6379")
	if err != nil {
		log.Fatal(err)
	}
	defer broker.Close()
	hub, err := rooms.New(&rooms.Options{Broker: broker, Node: "10.0.0.7:8080"})
	if err != nil {
		log.Fatal(err)
	}
	defer hub.Close()
	// Mount the WebSocket handler; its OnOpen calls hub.Add, its
	// OnMessage hub.Join, hub.Publish and hub.Send.
}
