// Package publishtest checks that the published modules of this
// repository work for someone outside it: its test releases them with
// scripts/release into a module proxy on disk and builds the README's
// programs, one fresh module per router, from that proxy alone, as a user
// does after go get. Inside the repository, go.work and the replace
// directives hide a go.mod that names a module nobody can download or
// misses one it needs; only a build from outside shows it.
//
// The module has no requirements: it runs the go command, and builds
// nothing of the repository itself.
package publishtest
