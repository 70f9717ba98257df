// Package browser drives a headless Chromium from Go tests, so that the
// examples' pages and the servers behind them are checked in a real
// browser: FindChromium finds the binary (skipping the test without one,
// failing it under CI=true), LaunchChromium starts it with a fresh
// profile, and a Tab loads pages, evaluates JavaScript, types, clicks and
// records DevTools events. It speaks the Chrome DevTools Protocol over
// gws's own WebSocket client. Unix only: Chromium and its helper processes
// run as one process group, which the cleanup kills whole.
package browser
