// Package rooms spreads gws connections over several nodes: rooms, users
// and presence, with messages to a room's members on every node, to one
// user wherever connected, and to everyone. Nodes meet through a Broker:
// github.com/gwsgo/gws/brokers/nats and github.com/gwsgo/gws/brokers/redis
// are two; without one, a Hub is a cluster of one node. It uses the
// standard library only, as gws does.
//
//	hub, err := rooms.New(&rooms.Options{Broker: broker, Node: "10.0.0.7:8080"})
//
//	func (h *Handler) OnOpen(c *gws.Conn) {
//		h.hub.Add(name(c), c) // closes the user's older connection, on any node
//	}
//	func (h *Handler) OnMessage(c *gws.Conn, m *gws.Message) {
//		defer m.Close()
//		h.hub.Join("lobby", c)
//		h.hub.Publish("lobby", gws.OpcodeText, m.Bytes())
//	}
//
// # Users and rooms
//
// Each connection belongs to one user, named when it is added (Add); a
// name belongs to its newest connection across all nodes, and the older
// one is closed with 1008 and the reason "name taken by a new connection".
// Every user is a member of the room "", everyone's. A connection leaves
// all its rooms when it ends, before its OnClose is called, without a
// goroutine watching it.
//
// # Delivery
//
// Fan-out happens at the edge: a message for a room crosses the broker
// once, and reaches each node that has members in the room once (one
// subscription per room per node); there, one encoded frame is shared by
// the node's members (gws.Broadcaster). A message to a user crosses the
// broker once, to the user's node. While the broker is up, every
// recipient gets each message once, and the messages of one sender to one
// room (or one user) arrive in the order sent: a node publishes them in
// order and each of its peers receives them on one subscription. Members
// on the publisher's own node get its messages without the broker, so
// local delivery goes on while the broker is down; what crosses nodes
// then depends on the broker (see its package). Deliveries go through each
// connection's write queue, whose ServerOptions.SlowConsumer policy
// applies: a client that falls behind by WriteQueueMessages loses
// messages with the default SlowDrop.
//
// # Presence
//
// Members and Locate answer from what every node announces: each change
// of its membership as it happens, numbered, a heartbeat every
// Options.Heartbeat (2 s) with the number of its last change, and a
// snapshot when a peer asks: a node that starts asks every peer, and a
// peer that finds a number missing (a message lost while the broker was
// down) asks again. A node not heard from for three heartbeats is forgotten
// with its users, so a node that dies (kill -9) stops being counted within
// 3.5 heartbeats: 7 s by default. After a broker outage presence is whole
// again within a heartbeat of the node's reconnection.
package rooms
