package rooms

import "sync"

// Broker carries a Hub's messages between the nodes of a cluster, on
// subjects made of the characters A-Z a-z 0-9 - _ and dots. The modules
// github.com/gwsgo/gws/brokers/nats and github.com/gwsgo/gws/brokers/redis
// implement it on NATS and on Redis Pub/Sub; a Hub without one uses an
// in-process broker, which reaches that process only.
//
// A Hub relies on three properties: messages that one node publishes on
// one subject reach each subscriber in the order published; a subscription
// receives each message once; and a subscription outlives reconnections:
// a broker that is down when Subscribe is called, or that goes down later,
// subscribes again when it comes back.
type Broker interface {
	// Publish sends data to every subscriber of subject, on every node. It
	// must not keep data after it returns.
	Publish(subject string, data []byte) error

	// Subscribe calls f with every message published on subject, one at a
	// time, until unsubscribe is called. f must not keep data after it
	// returns, and must not block: a Hub's callbacks only queue writes.
	// more tells f that further messages of the subscription have arrived
	// already, which lets the Hub leave its writes to the connections'
	// queues, where messages that follow one another coalesce into one
	// write; a broker that cannot tell passes false. Subscribe returns an
	// error only if the subscription cannot be made at all (a broker that
	// is closed, a subject it refuses).
	Subscribe(subject string, f func(data []byte, more bool)) (unsubscribe func() error, err error)
}

// memBroker is the in-process Broker, a Hub's default: Publish calls each
// subscriber's f on the publisher's goroutine, one caller at a time per
// subscription.
type memBroker struct {
	mu   sync.RWMutex
	subs map[string][]*memSub
}

type memSub struct {
	mu sync.Mutex // one f at a time
	f  func([]byte, bool)
}

func (b *memBroker) Publish(subject string, data []byte) error {
	b.mu.RLock()
	subs := b.subs[subject] // never changed in place: Subscribe and unsubscribe copy
	b.mu.RUnlock()
	for _, s := range subs {
		s.mu.Lock()
		s.f(data, false)
		s.mu.Unlock()
	}
	return nil
}

func (b *memBroker) Subscribe(subject string, f func([]byte, bool)) (func() error, error) {
	s := &memSub{f: f}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.subs == nil {
		b.subs = make(map[string][]*memSub)
	}
	b.subs[subject] = append(b.subs[subject][:len(b.subs[subject]):len(b.subs[subject])], s)
	var once sync.Once
	return func() error {
		once.Do(func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			var kept []*memSub
			for _, o := range b.subs[subject] {
				if o != s {
					kept = append(kept, o)
				}
			}
			if len(kept) == 0 {
				delete(b.subs, subject)
			} else {
				b.subs[subject] = kept
			}
		})
		return nil
	}, nil
}
