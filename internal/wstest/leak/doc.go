// Package leak checks that a test left no goroutines running, in the
// manner of go.uber.org/goleak but with no dependency: VerifyNone at the
// end of a test, VerifyTestMain (or VerifyTestMainIgnoring, for packages
// whose dependencies keep goroutines of their own) as a package's
// TestMain. Every package of the repository whose tests open connections
// uses one of them.
package leak
