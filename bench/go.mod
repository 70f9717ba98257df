module github.com/gwsgo/gws/bench

go 1.26.0

require (
	github.com/coder/websocket v1.8.15
	github.com/fasthttp/websocket v1.5.12
	github.com/gobwas/ws v1.5.0
	github.com/gofiber/contrib/websocket v1.3.4
	github.com/gofiber/fiber/v2 v2.52.15
	github.com/gofiber/fiber/v3 v3.1.0
	github.com/gorilla/websocket v1.5.3
	github.com/gwsgo/gws/adapters/fiber v0.0.0
	github.com/gwsgo/gws/adapters/fiberv3 v0.0.0
	github.com/gwsgo/gws/adapters/nethttp v0.0.0
	github.com/gwsgo/gws/brokers/nats v0.0.0
	github.com/gwsgo/gws/compress/klauspost v0.0.0
	github.com/gwsgo/gws/core v0.0.0
	github.com/lxzan/gws v1.8.9
	github.com/nats-io/nats-server/v2 v2.15.3
	github.com/valyala/fasthttp v1.78.0
)

require (
	github.com/antithesishq/antithesis-sdk-go v0.9.0-default-no-op // indirect
	github.com/dolthub/maphash v0.1.0 // indirect
	github.com/gobwas/httphead v0.1.0 // indirect
	github.com/gofiber/schema v1.7.0 // indirect
	github.com/gofiber/utils/v2 v2.0.2 // indirect
	github.com/google/go-tpm v0.9.8 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/gwsgo/gws/adapters/fasthttp v0.0.0 // indirect
	github.com/klauspost/compress v1.20.4 // indirect
	github.com/mattn/go-colorable v0.1.14 // indirect
	github.com/mattn/go-isatty v0.0.20 // indirect
	github.com/mattn/go-runewidth v0.0.16 // indirect
	github.com/minio/highwayhash v1.0.4 // indirect
	github.com/molecule-man/go-brrr v1.3.1 // indirect
	github.com/nats-io/jwt/v2 v2.8.3 // indirect
	github.com/nats-io/nats.go v1.56.0 // indirect
	github.com/nats-io/nkeys v0.4.17 // indirect
	github.com/nats-io/nuid v1.0.1 // indirect
	github.com/philhofer/fwd v1.2.0 // indirect
	github.com/rivo/uniseg v0.2.0 // indirect
	github.com/savsgio/gotils v0.0.0-20240704082632-aef3928b8a38 // indirect
	github.com/tinylib/msgp v1.6.3 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	golang.org/x/time v0.16.0 // indirect
)

replace (
	github.com/gwsgo/gws/adapters/fasthttp => ../adapters/fasthttp
	github.com/gwsgo/gws/adapters/fiber => ../adapters/fiber
	github.com/gwsgo/gws/adapters/fiberv3 => ../adapters/fiberv3
	github.com/gwsgo/gws/adapters/nethttp => ../adapters/nethttp
	github.com/gwsgo/gws/compress/klauspost => ../compress/klauspost
	github.com/gwsgo/gws/core => ../core
	github.com/gwsgo/gws/internal/wstest => ../internal/wstest
)

replace github.com/gwsgo/gws/brokers/nats => ../brokers/nats
