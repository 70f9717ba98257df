module github.com/gwsgo/gws/brokers/test

go 1.26.0

require (
	github.com/gwsgo/gws/adapters/nethttp v0.0.0
	github.com/gwsgo/gws/brokers/nats v0.0.0
	github.com/gwsgo/gws/brokers/redis v0.0.0
	github.com/gwsgo/gws/core v0.0.0
	github.com/gwsgo/gws/internal/wstest v0.0.0
	github.com/nats-io/nats-server/v2 v2.15.3
)

require (
	github.com/antithesishq/antithesis-sdk-go v0.9.0-default-no-op // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/google/go-tpm v0.9.8 // indirect
	github.com/klauspost/compress v1.20.4 // indirect
	github.com/minio/highwayhash v1.0.4 // indirect
	github.com/nats-io/jwt/v2 v2.8.3 // indirect
	github.com/nats-io/nats.go v1.56.0 // indirect
	github.com/nats-io/nkeys v0.4.17 // indirect
	github.com/nats-io/nuid v1.0.1 // indirect
	github.com/redis/go-redis/v9 v9.23.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/time v0.16.0 // indirect
)

replace github.com/gwsgo/gws/core => ../../core

replace github.com/gwsgo/gws/adapters/nethttp => ../../adapters/nethttp

replace github.com/gwsgo/gws/brokers/nats => ../nats

replace github.com/gwsgo/gws/brokers/redis => ../redis

replace github.com/gwsgo/gws/internal/wstest => ../../internal/wstest
