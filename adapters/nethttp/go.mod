module github.com/gwsgo/gws/adapters/nethttp

go 1.26

require github.com/gwsgo/gws/core v0.0.0

replace github.com/gwsgo/gws/core => ../../core
