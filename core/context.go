package gws

import (
	"context"
	"net"
	"net/http"
	"reflect"
	"slices"
	"sync"
	"time"
)

// connContext is what Conn.Context holds: the values of the context the
// connection came from (the handshake request's, or Dial's), and done once
// the connection has ended. It lives inside the Conn, so a connection's
// context costs no allocation of its own, and it has an AfterFunc method,
// with which the context package derives contexts from it (WithCancel,
// AfterFunc) without a goroutine each. It also keeps Conn.onEnd's hooks,
// under the same lock; what only some connections use is made on demand.
type connContext struct {
	values context.Context // never done: only its values are used

	mu    sync.Mutex
	state uint8    // ctxLive, ctxEnding or ctxEnded
	more  *ctxMore // made by the first Done, AfterFunc or onEnd
}

// The states of a connContext.
const (
	ctxLive   = iota
	ctxEnding // the connection is ending: onEnd's hooks have been taken
	ctxEnded  // done
)

type ctxMore struct {
	done   chan struct{} // made by the first Done
	afters []*func()     // AfterFunc's functions still to run
	hooks  []func()      // onEnd's, run before OnClose
}

// init sets where the values come from. Only parent's values are used,
// never its cancellation (net/http cancels a request's context as soon as
// its handler returns), so parent is kept as it is: asking it for Done,
// or wrapping it with context.WithoutCancel, would cost every connection
// a channel or a wrapper.
func (x *connContext) init(parent context.Context) {
	x.values = parent
}

// extra returns x.more, making it; x.mu is held.
func (x *connContext) extra() *ctxMore {
	if x.more == nil {
		x.more = new(ctxMore)
	}
	return x.more
}

func (x *connContext) Deadline() (time.Time, bool) { return time.Time{}, false }

func (x *connContext) Done() <-chan struct{} {
	x.mu.Lock()
	defer x.mu.Unlock()
	m := x.extra()
	if m.done == nil {
		m.done = make(chan struct{})
		if x.state == ctxEnded {
			close(m.done)
		}
	}
	return m.done
}

func (x *connContext) Err() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.state == ctxEnded {
		return context.Canceled
	}
	return nil
}

func (x *connContext) Value(key any) any { return x.values.Value(key) }

// AfterFunc runs f in a goroutine of its own once the connection has
// ended, as context.AfterFunc does; stop unregisters it.
func (x *connContext) AfterFunc(f func()) (stop func() bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.state == ctxEnded {
		go f()
		return func() bool { return false }
	}
	p := &f
	m := x.extra()
	m.afters = append(m.afters, p)
	return func() bool {
		x.mu.Lock()
		defer x.mu.Unlock()
		i := slices.Index(m.afters, p)
		if i < 0 {
			return false
		}
		m.afters = slices.Delete(m.afters, i, i+1)
		return true
	}
}

func (x *connContext) String() string { return "gws.Conn.Context" }

// addHook registers f to run when the connection ends, and reports false
// once it is ending.
func (x *connContext) addHook(f func()) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.state != ctxLive {
		return false
	}
	m := x.extra()
	m.hooks = append(m.hooks, f)
	return true
}

// ending marks the connection as ending and returns the hooks to run.
func (x *connContext) ending() []func() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.state = ctxEnding
	if x.more == nil {
		return nil
	}
	hooks := x.more.hooks
	x.more.hooks = nil
	return hooks
}

// end makes the context done.
func (x *connContext) end() {
	x.mu.Lock()
	x.state = ctxEnded
	var afters []*func()
	if m := x.more; m != nil {
		if m.done != nil {
			close(m.done)
		}
		afters = m.afters
		m.afters = nil
	}
	x.mu.Unlock()
	for _, f := range afters {
		go (*f)()
	}
}

// netHTTPValues is what Conn.Context answers from in poller mode when the
// request's context is exactly what net/http made for it: the
// *http.Server and the local address, under two cancellable contexts.
// That chain costs every connection about 390 bytes (two cancelCtx, the
// done channel net/http made for one, a valueCtx and the address it
// holds; measured on 10,000 idle connections), a third of what the rest
// of an idle connection holds in poller mode. A context holding the same
// two values, shared by the connections of one server and local address,
// answers the same. A request context with any other layer (a value an
// application or a middleware put there, such as a trace span, or a
// BaseContext of the server's) is kept whole.
type netHTTPValues struct {
	mu   sync.Mutex
	ctxs map[serverAddr]context.Context
}

type serverAddr struct {
	srv   *http.Server
	laddr string
}

// The context types net/http's request context is built of, outermost
// first, found by what the context package returns rather than by name.
// ok is false if a context's parent is not its first, embedded field, as
// the walk in values expects; every request context is then kept whole.
var netHTTPChain, netHTTPChainOK = func() ([]reflect.Type, bool) {
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	cancelT := reflect.TypeOf(cctx)
	valueT := reflect.TypeOf(context.WithValue(context.Background(), serverAddr{}, nil))
	for _, t := range []reflect.Type{cancelT, valueT} {
		if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct || t.Elem().NumField() == 0 {
			return nil, false
		}
		if f := t.Elem().Field(0); !f.Anonymous || f.Type != reflect.TypeFor[context.Context]() {
			return nil, false
		}
	}
	return []reflect.Type{cancelT, cancelT, valueT, valueT, reflect.TypeOf(context.Background())}, true
}()

// isNetHTTPChain reports whether ctx is, layer by layer, the chain
// net/http builds: WithCancel, WithCancel, two WithValue, Background. It
// walks the layers' types instead of comparing the chain's description
// (fmt.Sprint of it cost 6 % of a poller-mode handshake's CPU).
func isNetHTTPChain(ctx context.Context) bool {
	if !netHTTPChainOK {
		return false
	}
	v := reflect.ValueOf(ctx)
	for i, t := range netHTTPChain {
		if !v.IsValid() || v.Type() != t {
			return false
		}
		if i < len(netHTTPChain)-1 {
			v = v.Elem().Field(0).Elem()
		}
	}
	return true
}

// values returns the shared context for ctx, or ctx itself when it holds
// more than net/http's own values. It relies on how the context package
// builds its contexts: were that to change, every request context would
// be kept whole, which is correct, only larger
// (TestPollerDropsNetHTTPContext would say so).
func (v *netHTTPValues) values(ctx context.Context) context.Context {
	srv, ok := ctx.Value(http.ServerContextKey).(*http.Server)
	laddr, ok2 := ctx.Value(http.LocalAddrContextKey).(net.Addr)
	if !ok || !ok2 || !isNetHTTPChain(ctx) {
		return ctx
	}
	key := serverAddr{srv, laddr.String()}
	v.mu.Lock()
	defer v.mu.Unlock()
	shared, ok := v.ctxs[key]
	if !ok {
		if v.ctxs == nil {
			v.ctxs = make(map[serverAddr]context.Context)
		}
		shared = context.WithValue(context.WithValue(context.Background(), http.ServerContextKey, srv), http.LocalAddrContextKey, laddr)
		v.ctxs[key] = shared
	}
	return shared
}
