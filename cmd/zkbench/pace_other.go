//go:build !linux

package main

import "time"

// sleepPrecise is time.Sleep where clock_nanosleep(2) is not at hand (see pace_linux.go).
func sleepPrecise(d time.Duration) { time.Sleep(d) }
