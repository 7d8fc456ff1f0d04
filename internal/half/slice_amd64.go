package half

import "golang.org/x/sys/cpu"

// haveF16C: the F16C kernels may run. Tests turn it off to compare.
var haveF16C = cpu.X86.HasAVX && cpu.X86.HasF16C

// fromF16C converts n values (a multiple of 32) from src into dst.
//
//go:noescape
func fromF16C(dst *uint16, src *float32, n int)

// toF16C converts n values (a multiple of 32) from src into dst.
//
//go:noescape
func toF16C(dst *float32, src *uint16, n int)
