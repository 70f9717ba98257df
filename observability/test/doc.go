// Package test holds the tests of the observability modules that open
// connections: one server's traffic, counted by the test, read back
// through Prometheus's text format and through the OpenTelemetry SDK's
// ManualReader. It is a module of its own so that the SDK and the
// repository's test machinery stay out of what users of the modules
// download.
package test
