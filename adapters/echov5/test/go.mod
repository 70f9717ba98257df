module github.com/gwsgo/gws/adapters/echov5/test

go 1.26.0

require (
	github.com/gwsgo/gws/adapters/echov5 v0.0.0
	github.com/gwsgo/gws/core v0.0.0
	github.com/gwsgo/gws/internal/wstest v0.0.0
	github.com/labstack/echo/v5 v5.4.6
)

require golang.org/x/time v0.15.0 // indirect

replace github.com/gwsgo/gws/adapters/echov5 => ..

replace github.com/gwsgo/gws/core => ../../../core

replace github.com/gwsgo/gws/internal/wstest => ../../../internal/wstest
