module github.com/gwsgo/gws/compress/klauspost

go 1.26

require (
	github.com/gwsgo/gws/core v0.0.0
	github.com/klauspost/compress v1.20.3
)

replace github.com/gwsgo/gws/core => ../../core
