// Package gwsredis connects the Hubs of several nodes (package
// github.com/gwsgo/gws/core/rooms) through Redis Pub/Sub: a rooms.Broker
// on github.com/redis/go-redis/v9.
//
//	broker, err := gwsredis.Connect("redis://127.0.0.1:6379")
//	if err != nil {
//		log.Fatal(err) // the server refused: nothing to run on
//	}
//	defer broker.Close()
//	hub, err := rooms.New(&rooms.Options{Broker: broker, Node: addr})
package gwsredis

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gwsgo/gws/core/rooms"
	"github.com/redis/go-redis/v9"
)

// Broker is a rooms.Broker on Redis Pub/Sub. Publish queues a message and
// returns: one goroutine sends what is queued, in order, in pipelines (many
// PUBLISH commands in one round trip), so a publisher never waits for Redis,
// and local delivery goes on while Redis is down. Every subscription
// shares one connection (a redis.PubSub), read by one goroutine that calls
// the callbacks one at a time, in the order Redis sent the messages.
type Broker struct {
	client redis.UniversalClient
	own    bool
	ps     *redis.PubSub
	done   chan struct{} // the receiving goroutine has returned

	queue     chan message
	quit      chan struct{}
	published chan struct{} // the publishing goroutine has returned
	closed    atomic.Bool

	mu      sync.RWMutex
	subs    map[string][]*subscription
	waiting map[string][]chan struct{} // Subscribe calls waiting for Redis to confirm
}

type subscription struct{ f func([]byte, bool) }

type message struct {
	subject string
	data    []byte
}

// queueSize bounds the messages waiting to be published; past it, while
// Redis is down or slower than the publishers, Publish fails.
const queueSize = 1 << 16

// maxPipeline bounds the commands sent in one round trip.
const maxPipeline = 512

var errQueueFull = errors.New("gwsredis: publish queue full: Redis is down or too slow")

var _ rooms.Broker = (*Broker)(nil)

// confirmWait bounds how long Subscribe waits for Redis to confirm a
// subscription.
const confirmWait = 5 * time.Second

// Connect connects to the Redis server at url (redis://[:password@]host:port[/db],
// or rediss:// for TLS; see redis.ParseURL) and returns a Broker that owns
// the client. A server that does not answer a PING is an error at once.
func Connect(url string) (*Broker, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("gwsredis: %w", err)
	}
	client := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), client.Options().DialTimeout)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("gwsredis: connecting to %s: %w", url, err)
	}
	b := New(client)
	b.own = true
	return b, nil
}

// New returns a Broker on a client the caller made and closes.
func New(client redis.UniversalClient) *Broker {
	b := &Broker{
		client:    client,
		ps:        client.Subscribe(context.Background()),
		done:      make(chan struct{}),
		queue:     make(chan message, queueSize),
		quit:      make(chan struct{}),
		published: make(chan struct{}),
		subs:      make(map[string][]*subscription),
		waiting:   make(map[string][]chan struct{}),
	}
	// go-redis reads the connection on a goroutine of its own, pings it
	// every 3 s, and when it fails dials again (every 100 ms) and
	// subscribes again to every channel.
	go b.receive(b.ps.ChannelWithSubscriptions())
	go b.publish()
	return b
}

// publish sends the queue's messages, in order, until Close; a pipeline
// that fails (Redis is down) loses its messages.
func (b *Broker) publish() {
	defer close(b.published)
	batch := make([]message, 0, maxPipeline)
	for {
		select {
		case m := <-b.queue:
			batch = append(batch, m)
		case <-b.quit:
			// What was queued before Close goes out (a Hub's goodbye).
			for len(b.queue) > 0 {
				batch = append(batch, <-b.queue)
				if len(batch) == maxPipeline {
					b.send(batch)
					batch = batch[:0]
				}
			}
			b.send(batch)
			return
		}
	more:
		for len(batch) < maxPipeline {
			select {
			case m := <-b.queue:
				batch = append(batch, m)
			default:
				break more
			}
		}
		b.send(batch)
		clear(batch)
		batch = batch[:0]
	}
}

func (b *Broker) send(batch []message) {
	if len(batch) == 0 {
		return
	}
	pipe := b.client.Pipeline()
	for _, m := range batch {
		pipe.Publish(context.Background(), m.subject, m.data)
	}
	pipe.Exec(context.Background())
}

func (b *Broker) receive(ch <-chan any) {
	defer close(b.done)
	var buf []byte
	for msg := range ch {
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind != "subscribe" {
				continue
			}
			b.mu.Lock()
			for _, w := range b.waiting[m.Channel] {
				close(w)
			}
			delete(b.waiting, m.Channel)
			b.mu.Unlock()
		case *redis.Message:
			b.mu.RLock()
			subs := b.subs[m.Channel]
			b.mu.RUnlock()
			buf = append(buf[:0], m.Payload...) // callbacks do not keep it
			for _, s := range subs {
				s.f(buf, len(ch) > 0)
			}
		}
	}
}

// Publish queues a copy of data for publishing on subject and returns.
// What is queued while Redis is down is lost; when 65,536 messages wait,
// Publish fails.
func (b *Broker) Publish(subject string, data []byte) error {
	if b.closed.Load() {
		return fmt.Errorf("gwsredis: publishing on %s: %w", subject, redis.ErrClosed)
	}
	select {
	case b.queue <- message{subject, bytes.Clone(data)}:
		return nil
	default:
		return errQueueFull
	}
}

// Subscribe subscribes f to subject. It returns once Redis has confirmed
// the subscription (up to 5 s); while Redis is down it returns at once,
// and the subscription is made when Redis is back.
func (b *Broker) Subscribe(subject string, f func(data []byte, more bool)) (func() error, error) {
	s := &subscription{f: f}
	b.mu.Lock()
	first := len(b.subs[subject]) == 0
	b.subs[subject] = append(b.subs[subject][:len(b.subs[subject]):len(b.subs[subject])], s)
	confirmed := make(chan struct{})
	if first {
		b.waiting[subject] = append(b.waiting[subject], confirmed)
	}
	b.mu.Unlock()
	unsubscribe := sync.OnceValue(func() error { return b.unsubscribe(subject, s) })
	if !first {
		return unsubscribe, nil
	}
	err := b.ps.Subscribe(context.Background(), subject)
	switch {
	case errors.Is(err, redis.ErrClosed):
		unsubscribe()
		return nil, fmt.Errorf("gwsredis: subscribing to %s: %w", subject, err)
	case err == nil:
		select {
		case <-confirmed:
		case <-time.After(confirmWait):
		}
	}
	// Redis is down, or slow: go-redis keeps the channel and subscribes
	// when it has a connection again.
	return unsubscribe, nil
}

func (b *Broker) unsubscribe(subject string, s *subscription) error {
	b.mu.Lock()
	var kept []*subscription
	for _, o := range b.subs[subject] {
		if o != s {
			kept = append(kept, o)
		}
	}
	if len(kept) > 0 {
		b.subs[subject] = kept
		b.mu.Unlock()
		return nil
	}
	delete(b.subs, subject)
	delete(b.waiting, subject)
	b.mu.Unlock()
	if err := b.ps.Unsubscribe(context.Background(), subject); err != nil && errors.Is(err, redis.ErrClosed) {
		return fmt.Errorf("gwsredis: unsubscribing from %s: %w", subject, err)
	}
	return nil
}

// Close ends the subscriptions, and closes the client if Connect made it.
func (b *Broker) Close() error {
	if b.closed.Swap(true) {
		return nil
	}
	close(b.quit)
	<-b.published
	err := b.ps.Close()
	<-b.done
	if b.own {
		err = errors.Join(err, b.client.Close())
	}
	return err
}
