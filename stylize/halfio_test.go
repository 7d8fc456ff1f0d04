package stylize

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/vidnst/vidnst/internal/half"
	"github.com/vidnst/vidnst/internal/onnxgen"
)

// halfNet is a tiny fp16 network as the shared fp16 models are built:
// float32 input1, Cast to float16, Conv (float16 weights, 3x3 so every
// output pixel mixes its neighbours), Relu, Cast back to float32 output1.
func halfNet(t testing.TB) *onnxgen.Graph {
	w := make([]float32, 3*3*9)
	for i := range w {
		w[i] = float32(i%7-3) / 8
	}
	return onnxgen.ImageGraph("halfnet").
		Float16Init("w", []int64{3, 3, 3, 3}, w).
		Float16Init("b", []int64{3}, []float32{1, 2.5, -3}).
		Node("Cast", []string{"input1"}, []string{"input1_h"}, onnxgen.AttrInt("to", elemFloat16)).
		Node("Conv", []string{"input1_h", "w", "b"}, []string{"conv"}, onnxgen.AttrInts("pads", 1, 1, 1, 1)).
		Node("Relu", []string{"conv"}, []string{"output1_h"}).
		Node("Cast", []string{"output1_h"}, []string{"output1"}, onnxgen.AttrInt("to", elemFloat)).
		ValueInfo("conv", onnxgen.Float16, onnxgen.ImageDims()...)
}

func writeGraph(t testing.TB, g *onnxgen.Graph, name string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name+".onnx")
	if err := g.Write(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// halfIO turns the float32 interface of an fp16 network into float16 (two
// nodes fewer) and leaves every other graph alone.
func TestHalfIOGraph(t *testing.T) {
	ok := halfNet(t).Bytes()
	for _, c := range []struct {
		name string
		data []byte
		want error
	}{
		{"fp16 net", ok, nil},
		{"float32 net", onnxgen.ImageGraph("affine").FloatInit("s", []int64{1}, []float32{2}).
			Node("Mul", []string{"input1", "s"}, []string{"output1"}).Bytes(), errNoHalfIO},
		{"input read without a Cast too", onnxgen.ImageGraph("x").
			Node("Cast", []string{"input1"}, []string{"h"}, onnxgen.AttrInt("to", elemFloat16)).
			Node("Cast", []string{"h"}, []string{"f"}, onnxgen.AttrInt("to", elemFloat)).
			Node("Add", []string{"f", "input1"}, []string{"output1"}).Bytes(), errNoHalfIO},
		{"output Cast from a tensor of unknown type", onnxgen.ImageGraph("x").
			Node("Cast", []string{"input1"}, []string{"h"}, onnxgen.AttrInt("to", elemFloat16)).
			Node("Shape", []string{"h"}, []string{"s"}).
			Node("Cast", []string{"s"}, []string{"output1"}, onnxgen.AttrInt("to", elemFloat)).Bytes(), errNoHalfIO},
		{"input cast to float64", onnxgen.ImageGraph("x").
			Node("Cast", []string{"input1"}, []string{"d"}, onnxgen.AttrInt("to", 11)).
			Node("Cast", []string{"d"}, []string{"output1"}, onnxgen.AttrInt("to", elemFloat)).Bytes(), errNoHalfIO},
		{"a Cast from the input straight to the output", onnxgen.ImageGraph("x").
			Node("Cast", []string{"input1"}, []string{"output1"}, onnxgen.AttrInt("to", elemFloat16)).Bytes(), errNoHalfIO},
		{"the output read by another node", halfNet(t).Output("extra", onnxgen.Float, onnxgen.ImageDims()...).
			Node("Identity", []string{"output1"}, []string{"extra"}).Bytes(), errNoHalfIO},
		{"the float16 result also a graph output", halfNet(t).Output("output1_h", onnxgen.Float16, onnxgen.ImageDims()...).Bytes(), errNoHalfIO},
		{"the input's Cast also a graph output", halfNet(t).Output("input1_h", onnxgen.Float16, onnxgen.ImageDims()...).Bytes(), errNoHalfIO},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := halfIO(c.data, "input1", "output1")
			if !errors.Is(err, c.want) {
				t.Fatalf("halfIO: %v, want %v", err, c.want)
			}
			if err != nil {
				return
			}
			m, err := parseModel(got)
			if err != nil {
				t.Fatal(err)
			}
			if m.inputs[0].elem != elemFloat16 || m.outputs[0].elem != elemFloat16 {
				t.Errorf("input elem %d, output elem %d, want %d", m.inputs[0].elem, m.outputs[0].elem, elemFloat16)
			}
			if n, was := countNodes(t, got), countNodes(t, c.data); n != was-2 {
				t.Errorf("%d nodes, want %d", n, was-2)
			}
		})
	}
}

func countNodes(t testing.TB, data []byte) int {
	t.Helper()
	g, err := modelGraph(data)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := pbWalk(g, func(f pbField) error {
		if f.num == 1 && f.wire == 2 {
			n++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// With float16 tensors (VIDNST_FP16_IO=on, here on the CPU) a session
// gives what the network computes from the input rounded to float16,
// rounded to float16 at the end: what the file's own Casts do on a GPU.
// (On the CPU, ONNX Runtime runs an fp16 network's float16 operators in
// float32 and drops the file's Cast pairs with them, so a float32 session
// there neither rounds its input nor its output; fed float16 values, it
// computes the same thing before the last rounding.) Full and partial
// batches, the project's fp16 net and two shared fp16 models.
func TestHalfIOSameOutput(t *testing.T) {
	needORT(t)
	models := map[string]string{"halfnet": writeGraph(t, halfNet(t), "halfnet")}
	// Its batch fixed at 3: partial batches run padded, as on CUDA.
	fixed, err := setImageDims(halfNet(t).Bytes(), [4]int64{3, 3, -1, -1}, "input1", "output1")
	if err != nil {
		t.Fatal(err)
	}
	models["halfnet batch 3"] = filepath.Join(t.TempDir(), "fixed.onnx")
	if err := os.WriteFile(models["halfnet batch 3"], fixed, 0o644); err != nil {
		t.Fatal(err)
	}
	if dir, err := filepath.Abs(filepath.Dir(sharedModel(t, "candy.onnx"))); err == nil {
		for _, name := range []string{"candy", "mosaic"} {
			p := filepath.Join(dir, "fp16", name+"-fp16.onnx")
			if _, err := os.Stat(p); err != nil {
				t.Logf("SKIPPED for %s: %v", name, err)
				continue
			}
			models[name] = p
		}
	}
	const w, h = 40, 32
	in := frames(3, w, h, 7)
	for i := range in[0] { // values that float16 does not hold exactly
		in[0][i] += 0.3
	}
	rounded := zeros(3, w, h)
	for f := range in {
		for i, v := range in[f] {
			rounded[f][i] = half.ToFloat32(half.FromFloat32(v))
		}
	}
	for name, p := range models {
		for _, batch := range []int{1, 3} {
			run := func(io string, in [][]float32) ([][]float32, bool) {
				t.Setenv("VIDNST_FP16_IO", io)
				s := newSession(t, p, Options{Width: w, Height: h, Batch: batch, Threads: 1})
				out := zeros(3, w, h)
				// Batch 3 runs frames 0-1 (a partial batch), then all three.
				for _, r := range [][2]int{{0, 1}, {1, 2}, {2, 3}, {0, 2}, {0, 3}} {
					if r[1]-r[0] > batch {
						continue
					}
					if err := s.Run(in[r[0]:r[1]], out[r[0]:r[1]]); err != nil {
						t.Fatal(err)
					}
				}
				return out, s.HalfIO()
			}
			want, half16 := run("off", rounded)
			if half16 {
				t.Fatalf("%s: VIDNST_FP16_IO=off gave float16 tensors", name)
			}
			got, half16 := run("on", in)
			if !half16 {
				t.Fatalf("%s: VIDNST_FP16_IO=on gave float32 tensors", name)
			}
			for f := range got {
				for i, v := range got[f] {
					if r := half.ToFloat32(half.FromFloat32(want[f][i])); math.Float32bits(v) != math.Float32bits(r) {
						t.Fatalf("%s batch %d frame %d value %d: %v with float16 tensors, want %v (%v rounded)", name, batch, f, i, v, r, want[f][i])
					}
				}
			}
			plausible(t, name, got[0])
		}
	}
}

// A model whose convention is not 0..255 has its frames scaled before
// they are rounded to float16, in chunks (toHalf): the same values as one
// at a time, across chunk ends; a -1..1 fp16 net runs so and gives what
// it gives with float32 tensors, to float16's precision.
func TestHalfIOAffine(t *testing.T) {
	src := frames(1, 97, 89, 3)[0] // not a multiple of the chunk
	dst := make([]uint16, len(src))
	toHalf(dst, src, 2.0/255, -1, make([]float32, 100))
	for i, v := range src {
		if want := half.FromFloat32(v*(2.0/255) - 1); dst[i] != want {
			t.Fatalf("value %d (%v): %#04x, want %#04x", i, v, dst[i], want)
		}
	}
	needORT(t)
	p := writeGraph(t, halfNet(t), "signed")
	if err := os.WriteFile(SidecarPath(p), []byte(`{"range": "-1-1"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	const w, h = 40, 32
	in := frames(1, w, h, 5)
	var outs [2][][]float32
	for k, io := range []string{"off", "on"} {
		t.Setenv("VIDNST_FP16_IO", io)
		s := newSession(t, p, Options{Width: w, Height: h, Threads: 1})
		if s.HalfIO() != (io == "on") {
			t.Fatalf("VIDNST_FP16_IO=%s: float16 tensors %v", io, s.HalfIO())
		}
		outs[k] = zeros(1, w, h)
		if err := s.Run(in, outs[k]); err != nil {
			t.Fatal(err)
		}
	}
	// float16 steps are 2^-10 of a value; in the model's -1..1 range that
	// is at most 0.125 of a 0..255 level after the output's scaling, and
	// the input's rounding moves a 3x3 Conv's result by about as much.
	if d := maxDiff(outs[0][0], outs[1][0]); d > 1 || d == 0 {
		t.Errorf("-1..1 fp16 net: float16 and float32 tensors differ by up to %v (want > 0, <= 1)", d)
	}
}

// A model with external weights (a file beside it) loads on every path
// that hands ONNX Runtime bytes instead of the path: float16 tensors asked
// for (the rewrite refused, the file run as it is) and freed fixed dims.
func TestExternalDataFromBytes(t *testing.T) {
	needORT(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "ext.onnx")
	scale := make([]byte, 4)
	binary.LittleEndian.PutUint32(scale, math.Float32bits(2))
	if err := os.WriteFile(filepath.Join(dir, "ext.bin"), scale, 0o644); err != nil {
		t.Fatal(err)
	}
	g := func(dims ...onnxgen.Dim) []byte {
		return onnxgen.NewGraph("ext").Input("input1", onnxgen.Float, dims...).Output("output1", onnxgen.Float, dims...).
			ExternalFloatInit("s", []int64{1}, "ext.bin", 1).
			Node("Mul", []string{"input1", "s"}, []string{"output1"}).Bytes()
	}
	for _, c := range []struct {
		name, io string
		data     []byte
	}{
		{"float16 tensors asked for", "on", g(onnxgen.ImageDims()...)},
		{"fixed dims freed", "", g(onnxgen.D(1), onnxgen.D(3), onnxgen.D(16), onnxgen.D(16))},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := os.WriteFile(p, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Setenv("VIDNST_FP16_IO", c.io)
			s := newSession(t, p, Options{Width: 8, Height: 6})
			in, out := frames(1, 8, 6, 2), zeros(1, 8, 6)
			if err := s.Run(in, out); err != nil {
				t.Fatal(err)
			}
			for i, v := range in[0] {
				if out[0][i] != 2*v {
					t.Fatalf("value %d: %v, want %v", i, out[0][i], 2*v)
				}
			}
		})
	}
}

// A float32 model keeps float32 tensors even when asked; a bad value of
// the variable is an options error.
func TestHalfIONotApplied(t *testing.T) {
	needORT(t)
	p := model(t, "affine", func(p string) error { return onnxgen.Affine(p, 2, 1) })
	t.Setenv("VIDNST_FP16_IO", "on")
	if s := newSession(t, p, Options{Width: 8, Height: 8}); s.HalfIO() {
		t.Error("float32 model ran with float16 tensors")
	}
	t.Setenv("VIDNST_FP16_IO", "yes")
	if _, err := New(p, Options{Width: 8, Height: 8}); !errors.Is(err, ErrOptions) {
		t.Errorf("VIDNST_FP16_IO=yes: %v, want ErrOptions", err)
	}
}

// The default: float16 tensors on CUDA where the CPU converts in hardware,
// never on the CPU.
func TestHalfIOWanted(t *testing.T) {
	for _, c := range []struct {
		env        string
		cuda, want bool
	}{
		{"", false, false}, {"on", false, true}, {"off", true, false},
	} {
		t.Setenv("VIDNST_FP16_IO", c.env)
		if got, err := halfIOWanted(c.cuda); err != nil || got != c.want {
			t.Errorf("VIDNST_FP16_IO=%q cuda %v: %v %v, want %v", c.env, c.cuda, got, err, c.want)
		}
	}
}

// The CPU side of one 1080p frame through a session's tensors, float32 or
// float16 (BENCHMARKS.md "float16 input and output"): Load (frame into the
// input tensor) and Store (output tensor into a frame), the network not
// run. go test ./stylize -run '^$' -bench LoadStore
func BenchmarkLoadStore(b *testing.B) {
	needORT(b)
	p := writeGraph(b, halfNet(b), "halfnet")
	const w, h = 1920, 1080
	in, out := frames(1, w, h, 1), zeros(1, w, h)
	for _, io := range []string{"off", "on"} {
		b.Setenv("VIDNST_FP16_IO", io)
		s := newSession(b, p, Options{Width: w, Height: h, Threads: 1})
		name := map[string]string{"off": "float32", "on": "float16"}[io]
		// Output values as a network leaves them (fresh memory reads as
		// the zero page, faster than real pixels).
		sl := s.slots[0]
		for i := range sl.outBuf {
			sl.outBuf[i] = float32(i%255) + 0.5
		}
		for i := range sl.outHalf {
			sl.outHalf[i] = half.FromFloat32(float32(i%255) + 0.5)
		}
		b.Run("load/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Load(0, in); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("store/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Store(0, out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// halfIO applies after each float16 norms mend (New mends first): the
// Casts the mends add around the norms do not hide that the output is
// float16. Checked on every shared fp16 model.
func TestHalfIOAfterMends(t *testing.T) {
	dir := filepath.Join(filepath.Dir(sharedModel(t, "candy.onnx")), "fp16")
	paths, _ := filepath.Glob(filepath.Join(dir, "*-fp16.onnx"))
	if len(paths) == 0 {
		t.Skipf("SKIPPED: no fp16 models in %s", dir)
	}
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		info, err := Inspect(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, mend := range []string{"", "keep", "fold", "float32", "scale"} {
			data, what, err := mendNorms(raw, mend, 4, info.Convention, info.Input.Name)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := halfIO(data, info.Input.Name, info.Output.Name); err != nil {
				t.Errorf("%s, mend %q (%s): halfIO: %v", filepath.Base(p), mend, what, err)
			}
		}
	}
}
