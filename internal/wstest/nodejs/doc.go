// Package nodejs runs Node.js programs from Go tests, so that gws is
// checked against the clients and servers of another ecosystem (Node's
// ws): Package installs a Node.js package of the repository (its locked
// dependencies, with npm ci) into a temporary folder, and RunScript runs
// one of its scripts and grades the "N passed, M failed" it prints.
// Without node and npm a test skips, except under CI=true, where it fails.
package nodejs
