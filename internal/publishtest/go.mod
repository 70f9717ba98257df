module github.com/gwsgo/gws/internal/publishtest

go 1.26
