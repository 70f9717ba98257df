// Package brokertest runs gws Hubs on three nodes over the real brokers,
// NATS (an embedded nats-server) and Redis (Debian's redis-server, started
// on a free port), from WebSocket clients: delivery exactly once and in
// order, presence, a node killed, a broker restarted, a name on two nodes.
// It is a module of its own so that nats-server and the test machinery
// never become requirements of the broker modules.
package brokertest
