// Package gwsnats connects the Hubs of several nodes (package
// github.com/gwsgo/gws/core/rooms) through NATS: a rooms.Broker on
// github.com/nats-io/nats.go.
//
//	broker, err := gwsnats.Connect("nats://127.0.0.1:4222")
//	if err != nil {
//		log.Fatal(err) // the server refused: nothing to run on
//	}
//	defer broker.Close()
//	hub, err := rooms.New(&rooms.Options{Broker: broker, Node: addr})
package gwsnats

import (
	"fmt"

	"github.com/gwsgo/gws/core/rooms"
	"github.com/nats-io/nats.go"
)

// Broker is a rooms.Broker on one NATS connection. A Hub's subscriptions
// are NATS subscriptions, one per subject, each delivered in order on a
// goroutine of its own (nats.go's asynchronous subscriptions).
type Broker struct {
	nc  *nats.Conn
	own bool
}

var _ rooms.Broker = (*Broker)(nil)

// Connect connects to the NATS server at url (several, comma-separated,
// for a cluster) and returns a Broker that owns the connection. A server
// that cannot be reached is an error at once. Options go after the
// Broker's defaults, which they may override: reconnect forever, every 2 s
// (nats.go's ReconnectWait), and NoEcho, since a Hub delivers its own
// messages to its own members itself.
func Connect(url string, opts ...nats.Option) (*Broker, error) {
	defaults := []nats.Option{nats.Name("gws"), nats.MaxReconnects(-1), nats.NoEcho()}
	nc, err := nats.Connect(url, append(defaults, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("gwsnats: connecting to %s: %w", url, err)
	}
	return &Broker{nc: nc, own: true}, nil
}

// New returns a Broker on a connection the caller made and closes. The
// connection must reconnect by itself (nats.go's default gives up after 60
// attempts; nats.MaxReconnects(-1) never does).
func New(nc *nats.Conn) *Broker { return &Broker{nc: nc} }

// Publish publishes data on subject. While the connection is down,
// nats.go keeps what is published in its reconnect buffer (8 MiB by
// default, nats.ReconnectBufSize) and sends it once reconnected; past
// that, Publish fails with nats.ErrReconnectBufExceeded.
func (b *Broker) Publish(subject string, data []byte) error {
	if err := b.nc.Publish(subject, data); err != nil {
		return fmt.Errorf("gwsnats: publishing on %s: %w", subject, err)
	}
	return nil
}

// Subscribe subscribes f to subject. nats.go subscribes again by itself
// after a reconnection. A subscription whose callback falls behind by
// more than nats.go's pending limits (512K messages or 64 MiB) drops
// messages (nats.ErrSlowConsumer); a Hub's callback only queues writes.
func (b *Broker) Subscribe(subject string, f func(data []byte, more bool)) (func() error, error) {
	sub, err := b.nc.Subscribe(subject, func(m *nats.Msg) {
		// nats.go counts the message being delivered as pending until
		// the callback returns.
		pending, _, _ := m.Sub.Pending()
		f(m.Data, pending > 1)
	})
	if err != nil {
		return nil, fmt.Errorf("gwsnats: subscribing to %s: %w", subject, err)
	}
	return sub.Unsubscribe, nil
}

// Close closes the connection if Connect made it.
func (b *Broker) Close() error {
	if b.own {
		b.nc.Close()
	}
	return nil
}
