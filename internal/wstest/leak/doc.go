// Package leak checks that a test left no goroutines running, in the
// manner of go.uber.org/goleak but with no dependency: VerifyNone at the
// end of a test, VerifyTestMain (or VerifyTestMainIgnoring, for packages
// whose dependencies keep goroutines of their own) as a package's
// TestMain. The tests of this repository that open connections use it,
// except those of core and of the published modules' own packages, which
// cannot require this module and make a narrower check of their own.
package leak
