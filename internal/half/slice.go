package half

// FromFloat32s writes FromFloat32(src[i]) into dst[i] for every i
// (len(dst) >= len(src)). On amd64 with F16C it converts 32 values per
// step in hardware (round to nearest even, as FromFloat32); elsewhere, and
// for the last few values, in Go. The results are the same either way
// (a NaN stays a NaN; its payload may differ).
func FromFloat32s(dst []uint16, src []float32) {
	dst = dst[:len(src):len(src)]
	i := 0
	if haveF16C && len(src) >= 32 {
		i = len(src) &^ 31
		fromF16C(&dst[0], &src[0], i)
	}
	for ; i < len(src); i++ {
		dst[i] = FromFloat32(src[i])
	}
}

// ToFloat32s writes ToFloat32(src[i]) into dst[i] for every i
// (len(dst) >= len(src)), with F16C on amd64 as FromFloat32s.
func ToFloat32s(dst []float32, src []uint16) {
	dst = dst[:len(src):len(src)]
	i := 0
	if haveF16C && len(src) >= 32 {
		i = len(src) &^ 31
		toF16C(&dst[0], &src[0], i)
	}
	for ; i < len(src); i++ {
		dst[i] = ToFloat32(src[i])
	}
}

// Hardware reports whether FromFloat32s and ToFloat32s convert in hardware
// (F16C); without it they run about 6x slower than a float32 copy.
func Hardware() bool { return haveF16C }
