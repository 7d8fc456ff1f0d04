//go:build !amd64

package pix

const haveSIMD = false

func widenAVX2(dst *float32, src *uint8, n int)    {}
func quantizeAVX2(dst *uint8, src *float32, n int) {}
