package stylize

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"testing"

	"github.com/vidnst/vidnst/internal/half"
	"github.com/vidnst/vidnst/internal/onnxgen"
	ort "github.com/yalue/onnxruntime_go"
)

// convNormOpts shapes convNorm's model.
type convNormOpts struct {
	weight   float32 // the Conv's weights are ±weight
	epsilon  float32 // 0: the attribute is left out (1e-5)
	relu     bool    // a Relu between the input and the Conv
	convPads bool    // the Conv pads itself (no Pad node)
	twice    bool    // two Conv+norm branches share the weights, summed
	padValue bool    // the Pad is constant with a constant_value input
	padZero  bool    // the Pad is constant with no value (zeros)
	tapped   bool    // the Conv's output is a graph output too
}

// convNorm writes input1 -> Cast(float16) -> Pad(1) -> Conv 3x3 (float16
// weights ±o.weight, bias) -> InstanceNormalization (float16) ->
// Cast(float) -> output1: the head of the float16 style networks in small.
func convNorm(o convNormOpts) func(string) error {
	return func(p string) error {
		w := make([]float32, 3*3*3*3)
		for i := range w {
			w[i] = o.weight
			if i%3 == 1 {
				w[i] = -o.weight
			}
		}
		g := onnxgen.ImageGraph("convnorm").
			Float16Init("W", []int64{3, 3, 3, 3}, w).
			Float16Init("B", []int64{3}, []float32{4, -8, 16}).
			Float16Init("gamma", []int64{3}, []float32{1.5, -0.5, 2}).
			Float16Init("beta", []int64{3}, []float32{10, 100, -20}).
			Int64Init("pads", []int64{8}, []int64{0, 0, 1, 1, 0, 0, 1, 1}).
			Node("Cast", []string{"input1"}, []string{"x"}, onnxgen.AttrInt("to", int64(onnxgen.Float16)))
		x := "x"
		if o.relu {
			g.Node("Relu", []string{x}, []string{"r"})
			x = "r"
		}
		conv := []onnxgen.Attr{onnxgen.AttrInts("kernel_shape", 3, 3)}
		switch {
		case o.convPads:
			conv = append(conv, onnxgen.AttrInts("pads", 1, 1, 1, 1))
			g.Node("Identity", []string{x}, []string{"padded"})
		case o.padValue:
			g.Float16Init("pv", nil, []float32{0}).Node("Pad", []string{x, "pads", "pv"}, []string{"padded"})
		case o.padZero:
			g.Node("Pad", []string{x, "pads"}, []string{"padded"})
		default:
			g.Node("Pad", []string{x, "pads"}, []string{"padded"}, onnxgen.AttrString("mode", "reflect"))
		}
		var eps []onnxgen.Attr
		if o.epsilon != 0 {
			eps = append(eps, onnxgen.AttrFloat("epsilon", o.epsilon))
		}
		g.Node("Conv", []string{"padded", "W", "B"}, []string{"c"}, conv...).
			Node("InstanceNormalization", []string{"c", "gamma", "beta"}, []string{"n"}, eps...)
		if o.twice {
			g.Node("Cast", []string{"input1"}, []string{"x2"}, onnxgen.AttrInt("to", int64(onnxgen.Float16))).
				Node("Pad", []string{"x2", "pads"}, []string{"padded2"}, onnxgen.AttrString("mode", "edge")).
				Node("Conv", []string{"padded2", "W", "B"}, []string{"c2"}, conv...).
				Node("InstanceNormalization", []string{"c2", "gamma", "beta"}, []string{"n2"}, eps...).
				Node("Add", []string{"n", "n2"}, []string{"n12"})
		} else {
			g.Node("Identity", []string{"n"}, []string{"n12"})
		}
		g.Node("Cast", []string{"n12"}, []string{"output1"}, onnxgen.AttrInt("to", int64(onnxgen.Float)))
		if o.tapped {
			g.Output("c", onnxgen.Float16, onnxgen.ImageDims()...)
		}
		return g.Write(p)
	}
}

// wantShift is the shift scaleNorms should pick for convNorm's Conv with
// weights ±weight on inputs in [lo, hi], worked out here from the
// definition: the smallest k with (span/2)^2 / 4^k <= normVarLimit.
func wantShift(weight float32, lo, hi float64) int {
	span := (hi - lo) * 27 * float64(weight)
	bound := span * span / 4
	k := 0
	for bound > normVarLimit {
		bound /= 4
		k++
	}
	return k
}

func TestScaleNorms(t *testing.T) {
	needORT(t)
	data := readModel(t, model(t, "convnorm", convNorm(convNormOpts{weight: 2})))
	fixed, done, err := scaleNorms(data, "input1", 0, 255)
	if err != nil || len(done) != 1 {
		t.Fatalf("scaleNorms: %+v, %v; want one norm", done, err)
	}
	if want := wantShift(2, 0, 255); done[0].Shift != want || done[0].Inexact != 0 || done[0].Norm != "n" || done[0].Conv != "c" {
		t.Errorf("scaleNorms: %+v, want shift %d, exact, norm n, conv c", done[0], want)
	}
	// The bound follows the model's input range: in [0, 1] these weights
	// cannot overflow; larger ones can, more so in [-1, 1].
	if _, d, _ := scaleNorms(data, "input1", 0, 1); len(d) != 0 {
		t.Errorf("inputs in [0, 1]: %+v, want nothing scaled", d)
	}
	big := readModel(t, model(t, "convnorm20", convNorm(convNormOpts{weight: 20})))
	for _, r := range [][2]float64{{0, 1}, {-1, 1}, {0, 255}} {
		if _, d, _ := scaleNorms(big, "input1", r[0], r[1]); len(d) != 1 || d[0].Shift != wantShift(20, r[0], r[1]) {
			t.Errorf("weights ±20, inputs in %v: %+v, want shift %d", r, d, wantShift(20, r[0], r[1]))
		}
	}
	// The Conv reads new weights and bias, the old ones are gone, and
	// the norm's epsilon is 1e-5/4^k (here below float16's smallest
	// value, so that).
	nodes, elems := graphNodes(t, fixed)
	suffix := fmt.Sprintf("__vidnst_scale%d", done[0].Shift)
	for _, nd := range nodes {
		if nd.op == "Conv" && (nd.ins[1] != "W"+suffix || nd.ins[2] != "B"+suffix) {
			t.Errorf("Conv reads %v", nd.ins)
		}
	}
	if _, ok := elems["W"]; ok || elems["W"+suffix] != 10 {
		t.Errorf("initializers after scaling: %v", elems)
	}
	if eps := normEpsilon(t, fixed); eps != minHalfEps {
		t.Errorf("epsilon %g, want %g", eps, minHalfEps)
	}
	e, _, _ := scaleNorms(readModel(t, model(t, "convnorm-eps", convNorm(convNormOpts{weight: 2, epsilon: 0.5}))), "input1", 0, 255)
	if eps := normEpsilon(t, e); eps != 0.5/float32(math.Pow(4, float64(wantShift(2, 0, 255)))) {
		t.Errorf("epsilon 0.5 became %g", eps)
	}
	// On the CPU, where the norm is right either way, the scaled model
	// gives what the file gives.
	const w, h = 24, 16
	in := frames(3, w, h, 5)
	a, b := runModel(t, data, w, h, in), runModel(t, fixed, w, h, in)
	for i := range in {
		if d := psnr(b[i], a[i]); d < 50 {
			t.Errorf("frame %d: scaled model %.1f dB from the file", i, d)
		}
	}
	// Two Convs sharing their weights: both norms scaled, the new
	// weights made once (a name twice makes the model invalid), and the
	// output as the file's.
	two := readModel(t, model(t, "convnorm-twice", convNorm(convNormOpts{weight: 2, twice: true})))
	fixed2, done2, err := scaleNorms(two, "input1", 0, 255)
	if err != nil || len(done2) != 2 {
		t.Fatalf("shared weights: %+v, %v; want two norms scaled", done2, err)
	}
	if names := initNames(t, fixed2); names["W"+suffix] != 1 || names["B"+suffix] != 1 || names["W"] != 0 {
		t.Errorf("shared weights: initializers %v", names)
	}
	a2, b2 := runModel(t, two, w, h, in), runModel(t, fixed2, w, h, in)
	for i := range in {
		if d := psnr(b2[i], a2[i]); d < 50 {
			t.Errorf("shared weights, frame %d: scaled model %.1f dB from the file", i, d)
		}
	}
	// A Conv that pads itself, or a Pad with no value, adds zeros: scaled
	// where 0 is in the input range, not where it is not.
	for _, o := range []convNormOpts{{weight: 20, convPads: true}, {weight: 20, padZero: true}} {
		raw := readModel(t, model(t, fmt.Sprintf("convnorm-zeros-%v", o.convPads), convNorm(o)))
		if _, d, _ := scaleNorms(raw, "input1", -1, 1); len(d) != 1 {
			t.Errorf("%+v, inputs in [-1, 1]: %+v; want the norm scaled", o, d)
		}
		if _, d, _ := scaleNorms(raw, "input1", 1, 255); len(d) != 0 {
			t.Errorf("%+v, inputs in [1, 255]: %+v; want nothing scaled (zeros outside)", o, d)
		}
	}
	// Where the bound does not hold or nothing overflows, nothing changes.
	for _, c := range []struct {
		name   string
		o      convNormOpts
		input  string
		lo, hi float64
	}{
		{"small weights", convNormOpts{weight: 0.01}, "input1", 0, 255},
		{"relu before the conv", convNormOpts{weight: 2, relu: true}, "input1", 0, 255},
		{"pad with a given value", convNormOpts{weight: 2, padValue: true}, "input1", 0, 255},
		{"conv output read elsewhere", convNormOpts{weight: 2, tapped: true}, "input1", 0, 255},
		{"another input", convNormOpts{weight: 2}, "mask", 0, 255},
	} {
		raw := readModel(t, model(t, "convnorm-"+c.name, convNorm(c.o)))
		if out, done, err := scaleNorms(raw, c.input, c.lo, c.hi); err != nil || len(done) != 0 || len(out) != len(raw) {
			t.Errorf("%s: %+v, %v; want nothing scaled", c.name, done, err)
		}
	}
}

// normEpsilon is the epsilon attribute of the first InstanceNormalization
// in the ModelProto data (1e-5 if it has none).
func normEpsilon(t *testing.T, data []byte) float32 {
	t.Helper()
	graph, err := modelGraph(data)
	if err != nil {
		t.Fatal(err)
	}
	eps := float32(-1)
	err = pbWalk(graph, func(f pbField) error {
		if f.num != 1 || f.wire != 2 || eps >= 0 {
			return nil
		}
		nd, err := parseNode(f.b)
		if nd.is("InstanceNormalization") {
			eps = attrFloat(nd.attrs["epsilon"], 1e-5)
		}
		return err
	})
	if err != nil || eps < 0 {
		t.Fatalf("no norm's epsilon: %v", err)
	}
	return eps
}

// The shared float16 networks: each has its first norm scaled (and only
// that one), and on the CPU the scaled candy gives what the file gives.
func TestScaleNormsShared(t *testing.T) {
	needORT(t)
	for _, name := range []string{"candy", "mosaic", "pointilism", "rain-princess", "udnie"} {
		p, ok := FP16Variant(sharedModel(t, name+".onnx"))
		if !ok {
			t.Logf("SKIPPED %s: no fp16 variant in the shared models", name)
			continue
		}
		_, done, err := scaleNorms(readModel(t, p), "input1", 0, 255)
		if err != nil || len(done) != 1 {
			t.Errorf("%s: %+v, %v; want its first norm scaled", name, done, err)
			continue
		}
		d := done[0]
		t.Logf("%s: norm %s after Conv %s: variance bound %.3g, scaled by 2^-%d to %.3g; %d weights lost bits (float16 subnormals)",
			name, d.Norm, d.Conv, d.Bound, d.Shift, d.Bound/math.Pow(4, float64(d.Shift)), d.Inexact)
	}
	data := candyFP16(t)
	fixed, _, err := scaleNorms(data, "input1", 0, 255)
	if err != nil {
		t.Fatal(err)
	}
	const w, h = 64, 48
	in := [][]float32{scene(w, h, 0), scene(w, h, 12)}
	ref, out := runModel(t, data, w, h, in), runModel(t, fixed, w, h, in)
	for i := range in {
		d := psnr(out[i], ref[i])
		t.Logf("scaled candy, frame %d: %.1f dB from the file", i, d)
		if d < 40 {
			t.Errorf("scaled candy, frame %d: %.1f dB from the file", i, d)
		}
	}
}

// cudaHalfNorm computes, on one channel of one frame, what ONNX Runtime's
// CUDA InstanceNormalization for float16 computes when the batch holds
// more than one frame (instance_norm.cc and instance_norm_impl.cu, 1.29):
// cuDNN's mean and unbiased variance in float32; then, in float16, each
// of them cast, the variance times (n-1)/n, plus epsilon, its square
// root, and gamma*(x-mean)/root + beta, every operation rounded to
// float16. x is rounded to float16 first: the Conv before the norm writes
// float16 on the GPU (ONNX Runtime on the CPU runs it in float32).
func cudaHalfNorm(x []float32, gamma, beta, eps float32, out []float32) {
	h := func(v float32) float32 { return half.ToFloat32(half.FromFloat32(v)) }
	m, q := 0.0, 0.0
	for i, v := range x {
		out[i] = h(v)
		m += float64(out[i])
	}
	m /= float64(len(x))
	for _, v := range out {
		q += (float64(v) - m) * (float64(v) - m)
	}
	n := float64(len(x))
	mean, vr := h(float32(m)), h(float32(q/(n-1)))
	root := h(float32(math.Sqrt(float64(h(h(vr*h(float32((n-1)/n))) + h(eps))))))
	g, b := h(gamma), h(beta)
	for i, v := range out {
		out[i] = h(h(h(g*h(v-mean))/root) + b)
	}
}

// On the CPU, with ONNX Runtime's CUDA arithmetic for a float16 norm in a
// batch copied in Go (cudaHalfNorm): the shared candy's first norm, fed
// its float16 Conv's output, collapses channels on the frames the GPU
// batch check uses; fed the scaled Conv's output it gives the norm's true
// output (computed in float64 from the file's Conv output) to float16
// precision, on those frames, a black and a white frame (flat channels,
// where an epsilon rounded to 0 would give NaN) and a real one.
func TestScaleNormsEmulated(t *testing.T) {
	needORT(t)
	data := candyFP16(t)
	fixed, done, err := scaleNorms(data, "input1", 0, 255)
	if err != nil || len(done) != 1 {
		t.Fatalf("scaleNorms: %+v, %v", done, err)
	}
	conv, shift := done[0].Conv, done[0].Shift
	inits, err := func() (map[string]*halfTensor, error) {
		g, err := modelGraph(data)
		if err != nil {
			return nil, err
		}
		return halfInits(g)
	}()
	if err != nil {
		t.Fatal(err)
	}
	var gamma, beta []float32
	nodes, _ := graphNodes(t, data)
	for _, nd := range nodes {
		if nd.op == "InstanceNormalization" && nd.ins[0] == conv {
			for _, h := range inits[nd.ins[1]].half {
				gamma = append(gamma, half.ToFloat32(h))
			}
			for _, h := range inits[nd.ins[2]].half {
				beta = append(beta, half.ToFloat32(h))
			}
		}
	}
	if len(gamma) == 0 || len(gamma) != len(beta) {
		t.Fatalf("the norm after %s: %d scales, %d biases", conv, len(gamma), len(beta))
	}
	fileConv, scaledConv := probeSession(t, data, []string{conv}, true), probeSession(t, fixed, []string{conv}, true)
	epsScaled := max(1e-5/float32(math.Pow(4, float64(shift))), minHalfEps)
	// check emulates the norm on both Convs' outputs for each frame and
	// returns, over all channels, the largest error of each from the
	// norm's true output, and how many channels of the file's collapsed
	// (came out within 0.5 of their bias everywhere).
	check := func(t *testing.T, w, h int, frames [][]float32) (fileErr, scaledErr float64, collapsed int) {
		for _, f := range frames {
			x, y := runProbe(t, fileConv, w, h, f), runProbe(t, scaledConv, w, h, f)
			hw := w * h
			want, got := make([]float32, hw), make([]float32, hw)
			for c := range gamma {
				xc, yc := x[c*hw:(c+1)*hw], y[c*hw:(c+1)*hw]
				m := 0.0
				for _, v := range xc {
					m += float64(v)
				}
				m /= float64(hw)
				vr := variance(xc) * float64(hw-1) / float64(hw)
				for i, v := range xc {
					want[i] = float32(float64(gamma[c])*(float64(v)-m)/math.Sqrt(vr+1e-5) + float64(beta[c]))
				}
				cudaHalfNorm(xc, gamma[c], beta[c], 1e-5, got)
				flat := true
				for i := range got {
					fileErr = max(fileErr, math.Abs(float64(got[i]-want[i])))
					flat = flat && math.Abs(float64(got[i]-beta[c])) < 0.5
				}
				if flat && vr > 1 {
					collapsed++
				}
				cudaHalfNorm(yc, gamma[c], beta[c], epsScaled, got)
				for i := range got {
					e := math.Abs(float64(got[i] - want[i]))
					if e != e {
						e = math.Inf(1)
					}
					scaledErr = max(scaledErr, e)
				}
			}
		}
		t.Logf("largest error from the norm's true output: %.3g as the file is, %.3g scaled by 2^-%d; %d channels of the file's collapsed to their bias", fileErr, scaledErr, shift, collapsed)
		return fileErr, scaledErr, collapsed
	}
	// The norm's outputs lie within about ±20 here; float16 rounds such
	// values to 1/64 or so, and the inputs to it, rounded too, add as
	// much again.
	const tolerance = 0.25
	t.Run("scenes", func(t *testing.T) {
		const w, h = 256, 144 // TestGPUBatchesMatch's frames
		var fs [][]float32
		for _, s := range []int{0, 15, -20, 30} {
			fs = append(fs, scene(w, h, s))
		}
		fileErr, scaledErr, collapsed := check(t, w, h, fs)
		if collapsed == 0 || fileErr < 1 {
			t.Errorf("the file's norm did not collapse (error %.3g): this emulation no longer shows the fault", fileErr)
		}
		if !(scaledErr < tolerance) {
			t.Errorf("scaled: error %.3g, want under %g", scaledErr, tolerance)
		}
	})
	t.Run("flat", func(t *testing.T) {
		const w, h = 64, 48
		black, white := make([]float32, 3*w*h), make([]float32, 3*w*h)
		for i := range white {
			white[i] = 255
		}
		if _, scaledErr, _ := check(t, w, h, [][]float32{black, white}); !(scaledErr < tolerance) {
			t.Errorf("flat frames, scaled: error %.3g, want under %g", scaledErr, tolerance)
		}
	})
	t.Run("car", func(t *testing.T) {
		const w, h = 768, 432
		f := carFrame(t, w, h)
		if _, scaledErr, _ := check(t, w, h, [][]float32{f}); !(scaledErr < tolerance) {
			t.Errorf("car frame, scaled: error %.3g, want under %g", scaledErr, tolerance)
		}
	})
}

// runProbe runs s on one planar RGB frame and returns its output's values.
func runProbe(t *testing.T, s *ort.DynamicAdvancedSession, w, h int, frame []float32) []float32 {
	t.Helper()
	in, err := ort.NewTensor(ort.NewShape(1, 3, int64(h), int64(w)), frame)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Destroy()
	outs := []ort.Value{nil}
	if err := s.Run([]ort.Value{in}, outs); err != nil {
		t.Fatal(err)
	}
	defer outs[0].Destroy()
	x, ok := outs[0].(*ort.Tensor[float32])
	if !ok {
		t.Fatalf("probe output: %T", outs[0])
	}
	return append([]float32(nil), x.GetData()...)
}

// emulateCUDANorms returns the ModelProto data with every float16
// InstanceNormalization replaced by ONNX ops that do what ONNX Runtime's
// CUDA kernel does with N > 1 (see cudaHalfNorm) as far as the overflow
// goes: the mean and variance in float32, each cast to float16 and back
// (a variance past 65504 becomes +Inf), then the normalization. The
// arithmetic stays float32 (ONNX Runtime's CPU runs float16 ops so), and
// the variance is the biased one (the kernel casts the unbiased one: on
// these frames n/(n-1) is 1 + 3e-5).
func emulateCUDANorms(t *testing.T, data []byte) []byte {
	t.Helper()
	graph, err := modelGraph(data)
	if err != nil {
		t.Fatal(err)
	}
	inits, err := halfInits(graph)
	if err != nil {
		t.Fatal(err)
	}
	attr := func(name string, typ uint64, fields ...pbField) []byte {
		a := pbAppend(nil, pbField{num: 1, wire: 2, b: []byte(name)})
		for _, f := range fields {
			a = pbAppend(a, f)
		}
		return pbAppend(a, pbField{num: 20, wire: 0, v: typ})
	}
	axes := attr("axes", 7, pbField{num: 8, wire: 0, v: 2}, pbField{num: 8, wire: 0, v: 3}) // INTS
	var extra []byte                                                                        // the shape initializer
	shape := pbAppend(nil, pbField{num: 1, wire: 0, v: 3})
	shape = pbAppend(shape, pbField{num: 2, wire: 0, v: 7}) // INT64
	shape = pbAppend(shape, pbField{num: 8, wire: 2, b: []byte("__emu_c11")})
	raw := make([]byte, 0, 24)
	for _, v := range []int64{-1, 1, 1} {
		raw = binary.LittleEndian.AppendUint64(raw, uint64(v))
	}
	extra = pbAppend(extra, pbField{num: 5, wire: 2, b: pbAppend(shape, pbField{num: 9, wire: 2, b: raw})})
	n := 0
	var g []byte
	err = pbWalk(graph, func(f pbField) error {
		if f.num != 1 || f.wire != 2 {
			g = pbAppend(g, f)
			return nil
		}
		nd, err := parseNode(f.b)
		if err != nil || !halfNorm(nd, inits) {
			g = pbAppend(g, f)
			return err
		}
		ins, outs, eps := nd.ins, nd.outs, attrFloat(nd.attrs["epsilon"], 1e-5)
		n++
		p := fmt.Sprintf("__emu%d_", n)
		epsInit := pbAppend(nil, pbField{num: 2, wire: 0, v: 1})
		epsInit = pbAppend(epsInit, pbField{num: 8, wire: 2, b: []byte(p + "eps")})
		epsInit = pbAppend(epsInit, pbField{num: 9, wire: 2, b: binary.LittleEndian.AppendUint32(nil, math.Float32bits(eps))})
		extra = pbAppend(extra, pbField{num: 5, wire: 2, b: epsInit})
		for _, nd := range [][]byte{
			castNode(ins[0], p+"x", 1),
			opNode("ReduceMean", []string{p + "x"}, p+"m", axes),
			opNode("Sub", []string{p + "x", p + "m"}, p+"d"),
			opNode("Mul", []string{p + "d", p + "d"}, p+"d2"),
			opNode("ReduceMean", []string{p + "d2"}, p+"v", axes),
			castNode(p+"m", p+"mh", 10), castNode(p+"mh", p+"mf", 1),
			castNode(p+"v", p+"vh", 10), castNode(p+"vh", p+"vf", 1),
			opNode("Add", []string{p + "vf", p + "eps"}, p+"ve"),
			opNode("Sqrt", []string{p + "ve"}, p+"root"),
			opNode("Sub", []string{p + "x", p + "mf"}, p+"xm"),
			opNode("Div", []string{p + "xm", p + "root"}, p+"xn"),
			castNode(ins[1], p+"s", 1), opNode("Reshape", []string{p + "s", "__emu_c11"}, p+"s3"),
			castNode(ins[2], p+"b", 1), opNode("Reshape", []string{p + "b", "__emu_c11"}, p+"b3"),
			opNode("Mul", []string{p + "xn", p + "s3"}, p+"ys"),
			opNode("Add", []string{p + "ys", p + "b3"}, p+"y"),
			castNode(p+"y", outs[0], 10),
		} {
			g = pbAppend(g, pbField{num: 1, wire: 2, b: nd})
		}
		return nil
	})
	if err != nil || n == 0 {
		t.Fatalf("%d norms emulated, %v", n, err)
	}
	out, err := withGraph(data, append(g, extra...))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The whole network on the CPU with every float16 norm done the way ONNX
// Runtime's CUDA kernel does it in a batch (emulateCUDANorms): as the file
// is, candy should land as far from its right output as the GPU batch
// check measured (10.4 dB on the H200) if the variance overflow is the
// whole fault; scaled, it should agree with it.
func TestScaleNormsEmulatedNetwork(t *testing.T) {
	needORT(t)
	data := candyFP16(t)
	fixed, _, err := scaleNorms(data, "input1", 0, 255)
	if err != nil {
		t.Fatal(err)
	}
	emuFile, emuScaled := emulateCUDANorms(t, data), emulateCUDANorms(t, fixed)
	// run returns each frame's PSNR from the right output (the file on
	// the CPU) as the file is and scaled, both with emulated norms.
	run := func(t *testing.T, w, h int, in [][]float32) (asIs, scaled []float64) {
		ref := runModel(t, data, w, h, in)
		a, b := runModel(t, emuFile, w, h, in), runModel(t, emuScaled, w, h, in)
		for i := range in {
			asIs, scaled = append(asIs, psnr(a[i], ref[i])), append(scaled, psnr(b[i], ref[i]))
			t.Logf("frame %d, norms as CUDA does them in a batch: %.1f dB from the right output as the file is, %.1f dB scaled", i, asIs[i], scaled[i])
			if scaled[i] < 40 {
				t.Errorf("frame %d: scaled, with emulated norms, %.1f dB from the right output", i, scaled[i])
			}
		}
		return asIs, scaled
	}
	t.Run("scenes", func(t *testing.T) {
		const w, h = 256, 144 // TestGPUBatchesMatch's frames
		var in [][]float32
		for _, s := range []int{0, 15, -20, 30} {
			in = append(in, scene(w, h, s))
		}
		asIs, _ := run(t, w, h, in)
		for i, a := range asIs {
			if a > 30 {
				t.Errorf("frame %d: the file with emulated norms is %.1f dB from the right output: the emulation no longer shows the fault", i, a)
			}
		}
	})
	// A real frame: how far a render was from right (logged).
	t.Run("car", func(t *testing.T) {
		const w, h = 768, 432
		f := carFrame(t, w, h)
		run(t, w, h, [][]float32{f})
	})
}

// What each VIDNST_FP16_NORMS value does to the shared fp16 candy, as a
// CUDA session at batch 4 loads it; scale follows the model's input range
// (in 0..1 its first norm cannot overflow, and the default mend applies).
func TestMendNorms(t *testing.T) {
	data := candyFP16(t)
	zeroOne := DefaultConvention()
	zeroOne.Range = "0-1"
	for _, c := range []struct {
		mend string
		conv Convention
		want string
	}{
		{"", DefaultConvention(), "fp16 norms: fold (15)"},
		{"float32", DefaultConvention(), "fp16 norms: float32 (15)"},
		{"keep", DefaultConvention(), ""},
		{"fold", DefaultConvention(), "fp16 norms: fold (15)"},
		{"scale", DefaultConvention(), "fp16 norms: scale (1)"},
		// Nothing to scale: the default mend, never the file as it is.
		{"scale", zeroOne, "fp16 norms: float32, as scale found no Conv to scale (15)"},
	} {
		out, what, err := mendNorms(data, c.mend, 4, c.conv, "input1")
		if err != nil || what != c.want || (what == "") != bytes.Equal(out, data) {
			t.Errorf("mend %q, range %s: %q, %v; want %q", c.mend, c.conv.Range, what, err, c.want)
		}
	}
	// A model without float16 norms comes back as it is under every mend.
	id := readModel(t, model(t, "id", onnxgen.Identity))
	for _, m := range []string{"", "fold", "float32", "scale"} {
		if out, what, err := mendNorms(id, m, 4, DefaultConvention(), "input1"); err != nil || what != "" || !bytes.Equal(out, id) {
			t.Errorf("identity model, mend %q: %q, %v", m, what, err)
		}
	}
}
