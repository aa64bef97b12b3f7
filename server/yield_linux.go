package server

import "syscall"

// yieldCPU is sched_yield(2), entered raw: it does not block, and a system call entered the
// usual way would wake the Go runtime's monitor (package nbwrite).
func yieldCPU() { syscall.RawSyscall(syscall.SYS_SCHED_YIELD, 0, 0, 0) }
