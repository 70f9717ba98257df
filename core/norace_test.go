//go:build !race

package gws

const raceEnabled = false
