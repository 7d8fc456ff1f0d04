package onnxgen

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// The models are run through ONNX Runtime with exact expected outputs in
// stylize's tests (onnxgen itself stays free of cgo); here the encoding is
// checked byte by byte where it is fixed.
func TestEncoding(t *testing.T) {
	b := NewGraph("g").
		Input("x", Float, P("N"), D(3)).
		Output("y", Float, P("N"), D(3)).
		Node("Identity", []string{"x"}, []string{"y"}).
		Bytes()
	if !bytes.HasPrefix(b, []byte{0x08, IRVersion}) {
		t.Fatalf("ModelProto does not start with ir_version: % x", b[:4])
	}
	// opset_import {domain "", version 17} closes the model.
	if !bytes.HasSuffix(b, []byte{0x42, 0x04, 0x0a, 0x00, 0x10, Opset}) {
		t.Fatalf("opset_import tail: % x", b[len(b)-6:])
	}
	// ValueInfo "x": name, then type.tensor_type{elem_type 1, shape{dim{param N}, dim{value 3}}}.
	vi := []byte{0x0a, 0x01, 'x', 0x12, 0x0f, 0x0a, 0x0d, 0x08, 0x01, 0x12, 0x09,
		0x0a, 0x03, 0x12, 0x01, 'N', 0x0a, 0x02, 0x08, 0x03}
	if !bytes.Contains(b, vi) {
		t.Fatalf("input ValueInfo not found in % x", b)
	}
	if !bytes.Equal(b, NewGraph("g").Input("x", Float, P("N"), D(3)).Output("y", Float, P("N"), D(3)).
		Node("Identity", []string{"x"}, []string{"y"}).Bytes()) {
		t.Fatal("not deterministic")
	}
}

func TestAttrs(t *testing.T) {
	if got := AttrInt("axis", 1).b; !bytes.Equal(got, []byte{0x0a, 4, 'a', 'x', 'i', 's', 0x18, 1, 0xa0, 0x01, 2}) {
		t.Errorf("AttrInt % x", got)
	}
	if got := AttrFloat("f", 1).b; !bytes.Equal(got, []byte{0x0a, 1, 'f', 0x15, 0, 0, 0x80, 0x3f, 0xa0, 0x01, 1}) {
		t.Errorf("AttrFloat % x", got)
	}
	if got := AttrInts("p", 1, 2).b; !bytes.Equal(got, []byte{0x0a, 1, 'p', 0x40, 1, 0x40, 2, 0xa0, 0x01, 7}) {
		t.Errorf("AttrInts % x", got)
	}
}

func TestWriteAll(t *testing.T) {
	dir := t.TempDir()
	for name, gen := range map[string]func(string) error{
		"identity":  Identity,
		"invert":    Invert,
		"affine":    func(p string) error { return Affine(p, 2, 1) },
		"spatial":   Spatial,
		"wrongrank": WrongRank,
		"channels":  func(p string) error { return Channels(p, 4) },
		"typed":     func(p string) error { return Typed(p, Int64) },
	} {
		p := filepath.Join(dir, name+".onnx")
		if err := gen(p); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if st, err := os.Stat(p); err != nil || st.Size() < 50 {
			t.Fatalf("%s: %v %v", name, st, err)
		}
	}
	if err := Identity(filepath.Join(dir, "no", "such", "dir.onnx")); err == nil {
		t.Fatal("write into a missing dir succeeded")
	}
}

func TestSpatialRef(t *testing.T) {
	// A single bright pixel shows the kernel (flipped, as Conv is a
	// correlation): out[o][y][x] = sum k[o][i][ky][kx] * in[i][y+ky-1][x+kx-1].
	const w, h = 3, 3
	in := make([]float32, 3*w*h)
	in[1*w+1] = 1 // R centre
	out := SpatialRef(in, w, h)
	for y := range 3 {
		for x := range 3 {
			got := out[y*w+x] - SpatialBias[0]
			want := SpatialKernel[0][0][2-y][2-x]
			if got != want {
				t.Errorf("R out (%d,%d) = %v, want %v", x, y, got, want)
			}
		}
	}
	// B output sees R through the cross-channel centre tap.
	if got := out[2*w*h+1*w+1] - SpatialBias[2]; math.Abs(float64(got-SpatialKernel[2][0][1][1])) > 1e-6 {
		t.Errorf("B from R: %v", got)
	}
}

func TestToHalf(t *testing.T) {
	for _, c := range []struct {
		v    float32
		want uint16
	}{{0, 0}, {1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {1.0 / 16384, 0x0400}, {0.1, 0x2e66}, {1 + 1.0/2048, 0x3c00}, {1 + 3.0/2048, 0x3c02}} {
		if got := toHalf(c.v); got != c.want {
			t.Errorf("toHalf(%v) = %#04x, want %#04x", c.v, got, c.want)
		}
	}
	for _, v := range []float32{1e-6, 70000, float32(math.NaN())} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("toHalf(%v) did not panic", v)
				}
			}()
			toHalf(v)
		}()
	}
}
