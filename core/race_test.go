//go:build race

package gws

// The race detector instruments every function, which deepens stacks.
const raceEnabled = true
