module github.com/gwsgo/gws/core

go 1.26
