package pix

import "golang.org/x/sys/cpu"

// haveSIMD: the AVX2 kernels may run. Tests turn it off to compare.
var haveSIMD = cpu.X86.HasAVX2

// widenAVX2 converts n samples (a multiple of 32) from src into dst.
//
//go:noescape
func widenAVX2(dst *float32, src *uint8, n int)

// quantizeAVX2 converts n samples (a multiple of 32) from src into dst.
//
//go:noescape
func quantizeAVX2(dst *uint8, src *float32, n int)
