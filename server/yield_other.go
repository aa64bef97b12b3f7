//go:build !linux

package server

// yieldCPU does nothing where sched_yield(2) is not at hand.
func yieldCPU() {}
