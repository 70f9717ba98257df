module github.com/gwsgo/gws/adapters/nethttp/test

go 1.26

require (
	github.com/gwsgo/gws/adapters/nethttp v0.0.0
	github.com/gwsgo/gws/core v0.0.0
	github.com/gwsgo/gws/internal/wstest v0.0.0
)

replace github.com/gwsgo/gws/adapters/nethttp => ..

replace github.com/gwsgo/gws/core => ../../../core

replace github.com/gwsgo/gws/internal/wstest => ../../../internal/wstest
