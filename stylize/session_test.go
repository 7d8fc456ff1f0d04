package stylize

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/vidnst/vidnst/internal/onnxgen"
)

// runCheck runs s on in and compares each output value with want(i, c, j)
// (frame i, pipeline channel c, pixel j) within tol.
func runCheck(t *testing.T, s *Session, in [][]float32, tol float64, want func(i, c, j int) float32) {
	t.Helper()
	w, h := s.Size()
	out := zeros(len(in), w, h)
	if err := s.Run(in, out); err != nil {
		t.Fatalf("Run(%d frames): %v", len(in), err)
	}
	n := w * h
	for i := range out {
		for c := range 3 {
			for j := range n {
				got, exp := out[i][c*n+j], want(i, c, j)
				if math.Abs(float64(got-exp)) > tol {
					t.Fatalf("frame %d channel %d pixel %d: got %v, want %v", i, c, j, got, exp)
				}
			}
		}
	}
}

func TestIdentityBatchAndPartial(t *testing.T) {
	needORT(t)
	p := model(t, "identity", onnxgen.Identity)
	const w, h = 5, 4
	s := newSession(t, p, Options{Width: w, Height: h, Batch: 3, Threads: 1})
	if s.Batch() != 3 || s.Device() != "cpu" || s.Fallback() != nil {
		t.Fatalf("Batch %d Device %q Fallback %v", s.Batch(), s.Device(), s.Fallback())
	}
	for _, n := range []int{3, 2, 1, 3, 2} { // full, partials, and back
		in := frames(n, w, h, uint64(n))
		runCheck(t, s, in, 0, func(i, c, j int) float32 { return in[i][c*w*h+j] })
	}
}

func TestInvertExact(t *testing.T) {
	needORT(t)
	p := model(t, "invert", onnxgen.Invert)
	const w, h = 6, 3
	s := newSession(t, p, Options{Width: w, Height: h, Batch: 2, Threads: 1})
	in := frames(2, w, h, 1)
	runCheck(t, s, in, 0, func(i, c, j int) float32 { return 255 - in[i][c*w*h+j] })
	// in place: out may alias in.
	in2 := frames(1, w, h, 2)
	orig := append([]float32(nil), in2[0]...)
	if err := s.Run(in2, in2); err != nil {
		t.Fatal(err)
	}
	for j, v := range orig {
		if in2[0][j] != 255-v {
			t.Fatalf("in-place pixel %d: got %v want %v", j, in2[0][j], 255-v)
		}
	}
}

// The per-channel model shows which model channel gets which colour.
func TestPerChannelRGBAndBGR(t *testing.T) {
	needORT(t)
	scale, bias := [3]float32{1, 2, 3}, [3]float32{10, 20, 30}
	gen := func(p string) error { return onnxgen.PerChannel(p, scale, bias) }
	const w, h = 3, 2
	in := frames(2, w, h, 3)
	n := w * h

	rgb := newSession(t, model(t, "pc", gen), Options{Width: w, Height: h, Batch: 2, Threads: 1})
	runCheck(t, rgb, in, 0, func(i, c, j int) float32 { return in[i][c*n+j]*scale[c] + bias[c] })

	p := model(t, "pcbgr", gen)
	writeSidecar(t, p, `{"channels": "bgr"}`)
	bgr := newSession(t, p, Options{Width: w, Height: h, Batch: 2, Threads: 1})
	if bgr.Info().Convention.Channels != "bgr" {
		t.Fatalf("convention %v", bgr.Info().Convention)
	}
	// Model channel 0 is blue: pipeline channel c goes through model channel 2-c.
	runCheck(t, bgr, in, 0, func(i, c, j int) float32 { return in[i][c*n+j]*scale[2-c] + bias[2-c] })
	runCheck(t, bgr, in[:1], 0, func(i, c, j int) float32 { return in[i][c*n+j]*scale[2-c] + bias[2-c] })
}

func TestValueRanges(t *testing.T) {
	needORT(t)
	const w, h = 4, 4
	in := frames(2, w, h, 4)
	n := w * h
	for _, tc := range []struct {
		rng         string
		scale, bias float32 // model, in the model's range
	}{
		{"0-1", -1, 1}, // 1 - x in 0..1 is 255 - x in 0..255
		{"-1-1", -1, 0},
	} {
		t.Run(tc.rng, func(t *testing.T) {
			p := model(t, "inv", func(p string) error { return onnxgen.Affine(p, tc.scale, tc.bias) })
			writeSidecar(t, p, `{"range": "`+tc.rng+`", "channels": "bgr", "input": "input1", "output": "output1"}`)
			s := newSession(t, p, Options{Width: w, Height: h, Batch: 2, Threads: 1})
			runCheck(t, s, in, 1e-3, func(i, c, j int) float32 { return 255 - in[i][c*n+j] })
		})
	}
	// Identity in 0-1: the round trip is (near) lossless.
	p := model(t, "id01", onnxgen.Identity)
	writeSidecar(t, p, `{"range": "0-1"}`)
	s := newSession(t, p, Options{Width: w, Height: h, Batch: 1, Threads: 1})
	runCheck(t, s, in[:1], 1e-3, func(i, c, j int) float32 { return in[i][c*n+j] })
}

func TestSpatialConv(t *testing.T) {
	needORT(t)
	p := model(t, "spatial", onnxgen.Spatial)
	const w, h = 7, 5 // not square: transposition would show
	s := newSession(t, p, Options{Width: w, Height: h, Batch: 2, Threads: 1})
	in := frames(2, w, h, 5)
	refs := [][]float32{onnxgen.SpatialRef(in[0], w, h), onnxgen.SpatialRef(in[1], w, h)}
	runCheck(t, s, in, 1e-2, func(i, c, j int) float32 { return refs[i][c*w*h+j] })
	runCheck(t, s, in[1:], 1e-2, func(i, c, j int) float32 { return refs[i+1][c*w*h+j] })
	// The reference is not symmetric: a transposed or flipped image would differ.
	if refs[0][0] == refs[0][w*h-1] {
		t.Fatal("degenerate reference")
	}
}

// fixedModel writes a model the way exporters do for one size: input,
// output and the inner tensor's value_info all at [2,3,4,5]. With add, the
// network adds a [2,3,4,5] constant, so it only runs at that size.
func fixedModel(t *testing.T, add bool) string {
	D := onnxgen.D
	dims := []onnxgen.Dim{D(2), D(3), D(4), D(5)}
	return model(t, "fixed", func(p string) error {
		g := onnxgen.NewGraph("fixed").
			Input("input1", onnxgen.Float, dims...).
			Output("output1", onnxgen.Float, dims...).
			ValueInfo("mid", onnxgen.Float, dims...).
			Node("Relu", []string{"input1"}, []string{"mid"})
		if add {
			g.FloatInit("c", []int64{2, 3, 4, 5}, make([]float32, 120)).
				Node("Add", []string{"mid", "c"}, []string{"output1"})
		} else {
			g.Node("Identity", []string{"mid"}, []string{"output1"})
		}
		return g.Write(p)
	})
}

func TestFixedDims(t *testing.T) {
	needORT(t)
	p := fixedModel(t, false)
	// At the file's size: its batch, a partial batch padded.
	s := newSession(t, p, Options{Width: 5, Height: 4, Threads: 1})
	if s.Batch() != 2 || !s.fixedBatch || s.freed != "" {
		t.Fatalf("batch %d, fixed %v, freed %q", s.Batch(), s.fixedBatch, s.freed)
	}
	in := frames(2, 5, 4, 6)
	runCheck(t, s, in, 0, func(i, c, j int) float32 { return in[i][c*20+j] })
	runCheck(t, s, in[1:], 0, func(i, c, j int) float32 { return in[i+1][c*20+j] }) // padded
	// A frame that is not the one the slot's tail held:
	x := frames(1, 5, 4, 42)
	runCheck(t, s, x, 0, func(i, c, j int) float32 { return x[i][c*20+j] })
	// The padding repeats the frame: no stale or never-written values
	// reach the network (on CUDA garbage there spoilt the real frames).
	for _, sl := range s.slots {
		if sl.n == 1 && !slices.Equal(sl.inBuf[60:120], sl.inBuf[:60]) {
			t.Errorf("padded tail %v, want the last frame %v", sl.inBuf[60:120], sl.inBuf[:60])
		}
	}
	// At other sizes and batches the dims are freed.
	for _, o := range []Options{{Width: 7, Height: 3, Batch: 3}, {Width: 5, Height: 4, Batch: 1}, {Width: 9, Height: 6}} {
		o.Threads = 1
		s := newSession(t, p, o)
		if s.freed != "[2, 3, 4, 5]" || s.fixedBatch {
			t.Fatalf("%+v: freed %q, fixed batch %v", o, s.freed, s.fixedBatch)
		}
		in := frames(s.Batch(), o.Width, o.Height, 8)
		n := o.Width * o.Height
		runCheck(t, s, in, 0, func(i, c, j int) float32 { return in[i][c*n+j] })
		runCheck(t, s, in[:1], 0, func(i, c, j int) float32 { return in[i][c*n+j] })
	}
	// A network that only runs at its size says so, naming the size.
	q := fixedModel(t, true)
	var err error
	if s, err = New(q, Options{Width: 7, Height: 3, Threads: 1}); err == nil {
		err = s.Run(frames(1, 7, 3, 1), zeros(1, 7, 3))
		s.Close()
	}
	if !errors.Is(err, ErrModel) || !strings.Contains(err.Error(), "[2, 3, 4, 5]") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("fixed-size network at 7x3: %v", err)
	}
}

// A network whose output is not numbers (0/0 here) fails on its first
// frame with a one-line error, instead of a black video.
func TestNaNOutputRefused(t *testing.T) {
	needORT(t)
	p := model(t, "nan", func(p string) error {
		return onnxgen.ImageGraph("nan").
			Node("Sub", []string{"input1", "input1"}, []string{"zero"}).
			Node("Div", []string{"zero", "zero"}, []string{"output1"}).Write(p)
	})
	s := newSession(t, p, Options{Width: 8, Height: 4, Threads: 1})
	err := s.Run(frames(1, 8, 4, 1), zeros(1, 8, 4))
	if !errors.Is(err, ErrModel) || !strings.Contains(err.Error(), "96 values that are not finite") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("NaN network: %v", err)
	}
}

func TestSetImageDims(t *testing.T) {
	raw, err := os.ReadFile(fixedModel(t, true))
	if err != nil {
		t.Fatal(err)
	}
	free, err := freeImageDims(raw, "input1", "output1")
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseModel(free)
	if err != nil {
		t.Fatal(err)
	}
	for _, io := range append(m.inputs, m.outputs...) {
		if fmt.Sprint(io.dims, io.dimParams) != "[-1 3 -1 -1] [N  H W]" {
			t.Errorf("%s: dims %v %q", io.name, io.dims, io.dimParams)
		}
	}
	if len(m.inputs) != 1 || len(m.outputs) != 1 {
		t.Fatalf("inputs %d, outputs %d", len(m.inputs), len(m.outputs))
	}
	// Back to the file's dims: byte for byte the original, less value_info.
	back, err := setImageDims(free, [4]int64{2, 0, 4, 5}, "input1", "output1")
	if err != nil {
		t.Fatal(err)
	}
	noInfo, _ := pbRewrite(raw, func(f pbField) (pbField, bool, error) {
		if f.num == 7 {
			f.b, _ = pbRewrite(f.b, func(g pbField) (pbField, bool, error) { return g, g.num != 13, nil })
		}
		return f, true, nil
	})
	if !bytes.Equal(back, noInfo) || len(noInfo) >= len(raw) {
		t.Fatalf("round trip: %d bytes, want %d (file %d)", len(back), len(noInfo), len(raw))
	}
	if _, err := freeImageDims([]byte("not onnx"), "input1"); err == nil {
		t.Fatal("rewrote garbage")
	}
}

func TestRunErrorsAndClose(t *testing.T) {
	needORT(t)
	p := model(t, "identity", onnxgen.Identity)
	s, err := New(p, Options{Width: 4, Height: 2, Batch: 2})
	if err != nil {
		t.Fatal(err)
	}
	good := zeros(3, 4, 2)
	for name, args := range map[string][2][][]float32{
		"none":      {nil, nil},
		"too many":  {good, good},
		"mismatch":  {good[:2], good[:1]},
		"short":     {{make([]float32, 5)}, good[:1]},
		"short out": {good[:1], {make([]float32, 5)}},
	} {
		if err := s.Run(args[0], args[1]); !errors.Is(err, ErrFrames) || !strings.HasPrefix(err.Error(), "stylize: ") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if err := s.Run(good[:1], good[:1]); !errors.Is(err, ErrClosed) {
		t.Fatalf("Run after Close: %v", err)
	}
	for _, o := range []Options{{Width: 0, Height: 2}, {Width: 2, Height: 2, Batch: -1}, {Width: 2, Height: 2, Device: "tpu"}, {Width: 2, Height: 2, Device: "cuda:x"}} {
		if _, err := New(p, o); !errors.Is(err, ErrOptions) {
			t.Errorf("New(%+v): %v", o, err)
		}
	}
}

func TestSidecarErrors(t *testing.T) {
	needORT(t)
	for _, sc := range []string{
		`{"range": "0-100"}`,
		`{"channels": "rgba"}`,
		`{"colour": "rgb"}`,
		`{"input": "nope"}`,
		`{"output": "nope"}`,
		`{"input": ""}`,
		`not json`,
		`{} {}`,
	} {
		p := model(t, "id", onnxgen.Identity)
		writeSidecar(t, p, sc)
		_, err := New(p, Options{Width: 2, Height: 2})
		if !errors.Is(err, ErrSidecar) || strings.Contains(err.Error(), "\n") {
			t.Errorf("sidecar %s: %v", sc, err)
		}
	}
}

// Zero allocations per Run, full and partial batches (after the first
// partial Run made its tensors).
func TestRunAllocs(t *testing.T) {
	needORT(t)
	p := model(t, "invert", onnxgen.Invert)
	s := newSession(t, p, Options{Width: 16, Height: 8, Batch: 2, Threads: 1})
	in, out := frames(2, 16, 8, 8), zeros(2, 16, 8)
	if err := s.Run(in[:1], out[:1]); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{2, 1} {
		a := testing.AllocsPerRun(20, func() {
			if err := s.Run(in[:n], out[:n]); err != nil {
				t.Fatal(err)
			}
		})
		if a != 0 {
			t.Errorf("batch of %d: %v allocs per Run", n, a)
		}
	}
}

func writeSidecar(t *testing.T, modelPath, content string) {
	t.Helper()
	if err := os.WriteFile(SidecarPath(modelPath), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if filepath.Ext(SidecarPath(modelPath)) != ".json" {
		t.Fatal("sidecar path", SidecarPath(modelPath))
	}
}

// Two slots used the way the pipeline's slotted stage uses them: loads,
// runs and stores interleaved across slots, a partial batch in one; each
// slot's results are its own frames'.
func TestSlotsInterleaved(t *testing.T) {
	needORT(t)
	p := model(t, "invert", onnxgen.Invert)
	const w, h = 6, 4
	if s := newSession(t, p, Options{Width: w, Height: h, Batch: 2, Threads: 1}); s.Slots() != 1 {
		t.Fatalf("cpu default, 1 thread: %d slots, want 1", s.Slots())
	}
	s := newSession(t, p, Options{Width: w, Height: h, Batch: 2, Threads: 1, Buffers: 2})
	if s.Slots() != 2 {
		t.Fatalf("%d slots, want 2", s.Slots())
	}
	a, b := frames(2, w, h, 1), frames(1, w, h, 2)
	oa, ob := zeros(2, w, h), zeros(1, w, h)
	step := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	step(s.Load(0, a))
	step(s.Load(1, b))
	step(s.Exec(1))
	step(s.Exec(0))
	step(s.Store(0, oa))
	step(s.Store(1, ob))
	for _, c := range []struct{ in, out [][]float32 }{{a, oa}, {b, ob}} {
		for i := range c.in {
			for j := range c.in[i] {
				if c.out[i][j] != 255-c.in[i][j] {
					t.Fatalf("frame %d value %d: got %v, want %v", i, j, c.out[i][j], 255-c.in[i][j])
				}
			}
		}
	}
	for name, err := range map[string]error{
		"slot out of range": s.Load(2, a),
		"store count":       s.Store(0, ob),
		"exec before load":  newSession(t, p, Options{Width: w, Height: h, Buffers: 2}).Exec(1),
	} {
		if !errors.Is(err, ErrFrames) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := New(p, Options{Width: w, Height: h, Buffers: 9}); !errors.Is(err, ErrOptions) {
		t.Errorf("9 buffers: %v", err)
	}
}

// On a CPU with two or more threads the default is two slots that may
// execute at once; concurrent Execs of the real network give each slot the
// output a lone Run gives.
func TestParallelExec(t *testing.T) {
	needORT(t)
	if s := newSession(t, model(t, "invert", onnxgen.Invert), Options{Width: 6, Height: 4, Threads: 2}); s.Slots() != 2 || s.Parallel() != 2 {
		t.Fatalf("cpu, 2 threads: %d slots, parallel %d; want 2, 2", s.Slots(), s.Parallel())
	}
	p := sharedModel(t, "candy.onnx")
	const w, h = 64, 48
	s := newSession(t, p, Options{Width: w, Height: h, Threads: 2})
	ref := newSession(t, p, Options{Width: w, Height: h, Threads: 1})
	in := [][][]float32{{scene(w, h, 1)}, {scene(w, h, 7)}}
	want := [][][]float32{zeros(1, w, h), zeros(1, w, h)}
	for i := range in {
		if err := ref.Run(in[i], want[i]); err != nil {
			t.Fatal(err)
		}
	}
	got := [][][]float32{zeros(1, w, h), zeros(1, w, h)}
	for rep := 0; rep < 5; rep++ {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range 2 {
			wg.Go(func() {
				if errs[i] = s.Load(i, in[i]); errs[i] == nil {
					if errs[i] = s.Exec(i); errs[i] == nil {
						errs[i] = s.Store(i, got[i])
					}
				}
			})
		}
		wg.Wait()
		for i := range 2 {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			for j := range want[i][0] {
				if d := got[i][0][j] - want[i][0][j]; d > 0.01 || d < -0.01 {
					t.Fatalf("rep %d slot %d value %d: %v, want %v", rep, i, j, got[i][0][j], want[i][0][j])
				}
			}
		}
	}
}

// VIDNST_BUFFERS sets the slots where Options leave them to the default
// (for A/B runs), and only values 1-4.
func TestBuffersVariable(t *testing.T) {
	needORT(t)
	p := model(t, "invert", onnxgen.Invert)
	for _, c := range []struct {
		env  string
		want int
	}{{"", 2}, {"3", 3}, {"1", 1}, {"9", 2}, {"x", 2}} {
		t.Setenv("VIDNST_BUFFERS", c.env)
		if s := newSession(t, p, Options{Width: 6, Height: 4, Threads: 2}); s.Slots() != c.want {
			t.Errorf("VIDNST_BUFFERS=%q: %d slots, want %d", c.env, s.Slots(), c.want)
		}
	}
	t.Setenv("VIDNST_BUFFERS", "3")
	if s := newSession(t, p, Options{Width: 6, Height: 4, Threads: 2, Buffers: 1}); s.Slots() != 1 {
		t.Errorf("Options.Buffers 1 with VIDNST_BUFFERS=3: %d slots", s.Slots())
	}
}

func TestParseDevice(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want: the devices tried, or the error's words
	}{
		{"", "[cpu]"}, {"cpu", "[cpu]"}, {"CUDA", "[cuda:0]"}, {"cuda:2", "[cuda:2]"}, {"auto", "[cuda:0 cpu]"},
		{"cuda:-1", "want cpu, cuda, cuda:N or auto"}, {"tpu", "want cpu, cuda"}, {"gpu", "want cpu, cuda"},
		{"tensorrt", "TensorRT is not supported"}, {"tensorrt:0", "TensorRT is not supported"},
	} {
		ds, err := parseDevice(tc.in)
		got := fmt.Sprint(ds)
		if err != nil {
			got = err.Error()
			if !errors.Is(err, ErrOptions) {
				t.Errorf("%q: %v is not ErrOptions", tc.in, err)
			}
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("%q: %s, want %s", tc.in, got, tc.want)
		}
	}
}

// A network whose output is another size than its input is named as such
// (ORT's own words were about pre-allocated OrtValues).
func TestOutputSizeDiffers(t *testing.T) {
	needORT(t)
	p := model(t, "pool", func(p string) error {
		return onnxgen.ImageGraph("pool").
			Node("MaxPool", []string{"input1"}, []string{"output1"}, onnxgen.AttrInts("kernel_shape", 2, 2), onnxgen.AttrInts("strides", 2, 2)).Write(p)
	})
	s := newSession(t, p, Options{Width: 8, Height: 4, Threads: 1})
	err := s.Run(frames(1, 8, 4, 1), zeros(1, 8, 4))
	if !errors.Is(err, ErrNotImage) || !strings.Contains(err.Error(), "gives {1,3,2,4} for a {1,3,4,8} input") {
		t.Fatalf("half-size network: %v", err)
	}
}

func TestCUDAAPIChecked(t *testing.T) {
	needORT(t)
	t.Setenv("VIDNST_CUDA_API", "bogus")
	if _, err := sessionOptions(1, device{cuda: true}, false); !errors.Is(err, ErrOptions) || !strings.Contains(err.Error(), "VIDNST_CUDA_API") {
		t.Fatalf("VIDNST_CUDA_API=bogus: %v", err)
	}
}

// LowMemory (ONNX Runtime's arena off) changes where the memory comes
// from, not the pixels; it is a CPU setting only.
func TestLowMemorySameOutput(t *testing.T) {
	needORT(t)
	candy := sharedModel(t, "candy.onnx")
	const w, h = 64, 48
	in := make([]float32, 3*w*h)
	for i := range in {
		in[i] = float32(i * 37 % 256)
	}
	var outs [2][]float32
	for i, low := range []bool{false, true} {
		s, err := New(candy, Options{Width: w, Height: h, Batch: 1, Threads: 1, LowMemory: low})
		if err != nil {
			t.Fatal(err)
		}
		if s.LowMemory() != low {
			t.Errorf("LowMemory() = %v, want %v", s.LowMemory(), low)
		}
		outs[i] = make([]float32, 3*w*h)
		if err := s.Run([][]float32{in}, [][]float32{outs[i]}); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	if !slices.Equal(outs[0], outs[1]) {
		t.Fatal("output differs with LowMemory")
	}
}
