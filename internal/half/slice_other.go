//go:build !amd64

package half

var haveF16C = false // no hardware conversions here; a var so tests can set it

func fromF16C(dst *uint16, src *float32, n int) {}
func toF16C(dst *float32, src *uint16, n int)   {}
