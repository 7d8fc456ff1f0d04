package stylize

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vidnst/vidnst/internal/onnxgen"
	ort "github.com/yalue/onnxruntime_go"
)

// halfNormModel: input1 -> Cast(float16) -> InstanceNormalization (float16
// scale and bias) -> Cast(float) -> output1, the float16 style networks'
// normalization in small.
var (
	halfNormScale = []float32{1.5, -0.5, 2}
	halfNormBias  = []float32{10, 100, -20}
)

func halfNormModel(p string) error { return halfNorms(p, 1) }

// halfNorms writes the model with n norms in a row, all with the same
// float16 scale and bias.
func halfNorms(p string, n int) error {
	g := onnxgen.ImageGraph("halfnorm").
		Float16Init("s", []int64{3}, halfNormScale).
		Float16Init("b", []int64{3}, halfNormBias).
		Node("Cast", []string{"input1"}, []string{"x0"}, onnxgen.AttrInt("to", int64(onnxgen.Float16)))
	for i := range n {
		g.Node("InstanceNormalization", []string{fmt.Sprintf("x%d", i), "s", "b"}, []string{fmt.Sprintf("x%d", i+1)}, onnxgen.AttrFloat("epsilon", 1e-5))
	}
	return g.Node("Cast", []string{fmt.Sprintf("x%d", n)}, []string{"output1"}, onnxgen.AttrInt("to", int64(onnxgen.Float))).Write(p)
}

// readModel reads the model file p.
func readModel(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// rewritten rewrites data with fold (0: fp32Norms, else foldNorms at that
// batch) and checks that want nodes were rewritten (-1: any).
func rewritten(t *testing.T, data []byte, fold, want int) []byte {
	t.Helper()
	out, n, err := rewriteNorms(data, fold)
	if err != nil || n == 0 || (want >= 0 && n != want) {
		t.Fatalf("fold %d: %d norms rewritten (want %d), %v", fold, n, want, err)
	}
	return out
}

// runModel runs the model data (a file's bytes or a rewrite) on the CPU on
// in, all frames in one batch, and returns the outputs.
func runModel(t *testing.T, data []byte, w, h int, in [][]float32) [][]float32 {
	t.Helper()
	p := filepath.Join(t.TempDir(), "m.onnx")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	s := newSession(t, p, Options{Width: w, Height: h, Batch: len(in), Threads: 2})
	out := zeros(len(in), w, h)
	if err := s.Run(in, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// The rewrite runs the norm in float32 and computes what the float16 one
// should: each frame and channel normalized on its own.
func TestFP32Norms(t *testing.T) {
	needORT(t)
	data := readModel(t, model(t, "halfnorm", halfNormModel))
	fixed := rewritten(t, data, 0, 1)
	if _, err := parseModel(fixed); err != nil {
		t.Fatalf("rewritten model: %v", err)
	}
	const w, h = 6, 5
	in := frames(3, w, h, 4)
	for name, m := range map[string][]byte{"file": data, "float32": fixed, "folded": rewritten(t, data, 3, 1)} {
		out := runModel(t, m, w, h, in)
		for i := range in {
			for c := range 3 {
				x := in[i][c*w*h : (c+1)*w*h]
				mean, vr := 0.0, 0.0
				for _, v := range x {
					mean += float64(v)
				}
				mean /= float64(len(x))
				for _, v := range x {
					vr += (float64(v) - mean) * (float64(v) - mean)
				}
				vr /= float64(len(x))
				for j, v := range x {
					want := float64(halfNormScale[c])*(float64(v)-mean)/math.Sqrt(vr+1e-5) + float64(halfNormBias[c])
					if got := float64(out[i][c*w*h+j]); math.Abs(got-want) > 0.1 {
						t.Fatalf("%s: frame %d channel %d pixel %d: %v, want %v", name, i, c, j, got, want)
					}
				}
			}
		}
	}
	// Two norms sharing their scale and bias: the new initializers are
	// made once (a name twice would make the model invalid) and both run.
	two := readModel(t, model(t, "twonorms", func(p string) error { return halfNorms(p, 2) }))
	fixed2 := rewritten(t, two, 0, 2)
	if names := initNames(t, fixed2); names["s__vidnst_fp32"] != 1 || names["b__vidnst_fp32"] != 1 {
		t.Errorf("two norms sharing scale and bias: float32 initializers %v, want each once", names)
	}
	if names := initNames(t, rewritten(t, two, 3, 2)); names["s__vidnst_fold3"] != 1 || names["__vidnst_fold_3x3"] != 1 {
		t.Errorf("two norms folded: initializers %v, want each once", names)
	}
	a, b := runModel(t, two, w, h, in), runModel(t, fixed2, w, h, in)
	for i := range in {
		for j := range in[i] {
			if d := math.Abs(float64(a[i][j] - b[i][j])); d > 0.25 {
				t.Fatalf("two norms, frame %d value %d: %v rewritten, %v in the file", i, j, b[i][j], a[i][j])
			}
		}
	}
	// A model with no float16 norm comes back as it is.
	raw := readModel(t, model(t, "id", onnxgen.Identity))
	if same, n, err := fp32Norms(raw); err != nil || n != 0 || !bytes.Equal(same, raw) {
		t.Errorf("identity model: %d nodes rewritten, %v", n, err)
	}
	if _, _, err := fp32Norms([]byte("not onnx")); err == nil {
		t.Error("fp32Norms took a file that is not ONNX")
	}
}

// candyFP16 is the shared fp16 candy network's file, or a skip.
func candyFP16(t *testing.T) []byte {
	t.Helper()
	p, ok := FP16Variant(sharedModel(t, "candy.onnx"))
	if !ok {
		t.Skip("SKIPPED: no fp16 variant of candy in the shared models")
	}
	return readModel(t, p)
}

// The shared fp16 style network, rewritten, gives on the CPU what the file
// gives.
func TestFP32NormsCandy(t *testing.T) {
	needORT(t)
	data := candyFP16(t)
	const w, h = 64, 48
	in := [][]float32{scene(w, h, 0), scene(w, h, 12)}
	ref := runModel(t, data, w, h, in)
	for _, fold := range []int{0, 2} {
		out := runModel(t, rewritten(t, data, fold, 15), w, h, in)
		for i := range in {
			d := psnr(out[i], ref[i])
			t.Logf("fold %d (0: float32 norms), frame %d: %.1f dB from the file", fold, i, d)
			if d < 40 {
				t.Errorf("fold %d, frame %d: rewritten model differs: %.1f dB", fold, i, d)
			}
		}
	}
}

// graphNodes lists the ModelProto data's nodes (op, inputs, outputs, the
// "to" attribute of a Cast) and its initializers' element types.
type testNode struct {
	op        string
	ins, outs []string
	to        uint64
}

func graphNodes(t *testing.T, data []byte) ([]testNode, map[string]uint64) {
	t.Helper()
	var nodes []testNode
	elems := map[string]uint64{}
	err := pbWalk(data, func(f pbField) error {
		if f.num != 7 || f.wire != 2 {
			return nil
		}
		return pbWalk(f.b, func(g pbField) error {
			switch {
			case g.num == 1 && g.wire == 2:
				nd, err := parseNode(g.b)
				nodes = append(nodes, testNode{op: nd.op, ins: nd.ins, outs: nd.outs, to: uint64(attrInt(nd.attrs["to"]))})
				return err
			case g.num == 5 && g.wire == 2:
				var name string
				var elem uint64
				err := pbWalk(g.b, func(h pbField) error {
					if h.num == 8 && h.wire == 2 {
						name = string(h.b)
					}
					if h.num == 2 && h.wire == 0 {
						elem = h.v
					}
					return nil
				})
				elems[name] = elem
				return err
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return nodes, elems
}

// After fp32Norms every norm of the float16 candy reads float32: its X
// from a Cast to float, float32 scale and bias, and its output goes
// through a Cast back to float16; after foldNorms its X comes from a
// Reshape and its scale and bias are float16, batch times as long.
func TestNormsRewriteStructure(t *testing.T) {
	data := candyFP16(t)
	for _, fold := range []int{0, 4} {
		nodes, elems := graphNodes(t, rewritten(t, data, fold, 15))
		producer, consumer := map[string]testNode{}, map[string]testNode{}
		for _, nd := range nodes {
			for _, o := range nd.outs {
				producer[o] = nd
			}
			for _, i := range nd.ins {
				consumer[i] = nd
			}
		}
		norms := 0
		for _, nd := range nodes {
			if nd.op != "InstanceNormalization" {
				continue
			}
			norms++
			pr, co := producer[nd.ins[0]], consumer[nd.outs[0]]
			switch fold {
			case 0:
				if pr.op != "Cast" || pr.to != 1 || co.op != "Cast" || co.to != 10 || elems[nd.ins[1]] != 1 || elems[nd.ins[2]] != 1 {
					t.Fatalf("float32 norm %v: fed by %s to %d, feeds %s to %d, scale and bias types %d, %d", nd.outs, pr.op, pr.to, co.op, co.to, elems[nd.ins[1]], elems[nd.ins[2]])
				}
			default:
				if pr.op != "Reshape" || co.op != "Reshape" || elems[nd.ins[1]] != 10 || elems[nd.ins[2]] != 10 {
					t.Fatalf("folded norm %v: fed by %s, feeds %s, scale and bias types %d, %d", nd.outs, pr.op, co.op, elems[nd.ins[1]], elems[nd.ins[2]])
				}
			}
		}
		if norms != 15 {
			t.Errorf("fold %d: %d norms in the graph, 15 rewritten", fold, norms)
		}
	}
}

// float16 initializers stored as int32_data (packed) are read as well as
// raw_data.
func TestFP32NormsInt32Data(t *testing.T) {
	needORT(t)
	data := readModel(t, model(t, "halfnorm", halfNormModel))
	// raw_data (9) -> packed int32_data (5) in every float16 initializer.
	alt, err := pbRewrite(data, func(f pbField) (pbField, bool, error) {
		if f.num != 7 || f.wire != 2 {
			return f, true, nil
		}
		g, err := pbRewrite(f.b, func(g pbField) (pbField, bool, error) {
			if g.num != 5 || g.wire != 2 {
				return g, true, nil
			}
			b, err := pbRewrite(g.b, func(h pbField) (pbField, bool, error) {
				if h.num != 9 {
					return h, true, nil
				}
				var packed []byte
				for i := 0; i+1 < len(h.b); i += 2 {
					packed = binary.AppendUvarint(packed, uint64(binary.LittleEndian.Uint16(h.b[i:])))
				}
				return pbField{num: 5, wire: 2, b: packed}, true, nil
			})
			g.b = b
			return g, true, err
		})
		f.b = g
		return f, true, err
	})
	if err != nil {
		t.Fatal(err)
	}
	const w, h = 6, 5
	in := frames(2, w, h, 9)
	a, b := runModel(t, rewritten(t, data, 0, 1), w, h, in), runModel(t, rewritten(t, alt, 0, 1), w, h, in)
	for i := range in {
		if d := psnr(b[i], a[i]); d < 100 {
			t.Errorf("frame %d: int32_data model differs from raw_data: %.1f dB", i, d)
		}
	}
}

// A mistyped VIDNST_FP16_NORMS is an error, not silently the default.
func TestFP16NormsSwitchChecked(t *testing.T) {
	needORT(t)
	p := model(t, "id", onnxgen.Identity)
	t.Setenv("VIDNST_FP16_NORMS", "flod")
	s, err := New(p, Options{Width: 8, Height: 8, Threads: 1})
	if err == nil {
		s.Close()
		t.Fatal("VIDNST_FP16_NORMS=flod accepted")
	}
	if !errors.Is(err, ErrOptions) || !strings.Contains(err.Error(), "VIDNST_FP16_NORMS") {
		t.Errorf("VIDNST_FP16_NORMS=flod: %v", err)
	}
	for _, v := range []string{"keep", "fold", "float32", "scale"} {
		t.Setenv("VIDNST_FP16_NORMS", v)
		newSession(t, p, Options{Width: 8, Height: 8, Threads: 1})
	}
}

// initNames counts the graph initializers of the ModelProto data by name.
func initNames(t *testing.T, data []byte) map[string]int {
	t.Helper()
	names := map[string]int{}
	err := pbWalk(data, func(f pbField) error {
		if f.num != 7 || f.wire != 2 {
			return nil
		}
		return pbWalk(f.b, func(g pbField) error {
			if g.num != 5 || g.wire != 2 {
				return nil
			}
			return pbWalk(g.b, func(h pbField) error {
				if h.num == 8 && h.wire == 2 {
					names[string(h.b)]++
				}
				return nil
			})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// Why the float16 norms fail in batches on CUDA, and why the GPU batch
// check sees it. ONNX Runtime's CUDA kernel for a float16
// InstanceNormalization with N > 1 has cuDNN compute each channel's mean
// and variance in float32, then casts them to float16 to normalize
// (instance_norm_impl.cu); a variance above 65504 becomes +Inf there and
// the channel collapses to its bias. At N = 1 cuDNN does all of it in
// float32, which is why batch 1 and foldNorms are right. This runs the
// float32 candy on the CPU on the frames TestGPUBatchesMatch batches and
// checks that some norm's input has a channel variance past float16's
// range (else that check could not fail), and logs each norm's largest.
func TestNormInputVariance(t *testing.T) {
	needORT(t)
	largest := normVariances(t, "candy.onnx")
	t.Run("scenes", func(t *testing.T) {
		const w, h = 256, 144 // TestGPUBatchesMatch's frames
		var fs [][]float32
		for _, shift := range []int{0, 15, -20, 30} {
			fs = append(fs, scene(w, h, shift))
		}
		if _, over := largest(t, w, h, fs); over == 0 {
			t.Errorf("no norm input's variance leaves float16's range on these frames: TestGPUBatchesMatch could not see the kernel's overflow")
		}
	})
	// Frames made to stress the norms: checkerboards, stripes, lone
	// pixels, noise, hard edges, saturated colours, at three sizes down
	// to the smallest the networks run at. Only the first norm may leave
	// float16's range (the one scaleNorms bounds); every deeper norm must
	// stay under a quarter of it, since the scale mend leaves them in
	// float16 and rests on this.
	t.Run("adversarial", func(t *testing.T) {
		for _, name := range []string{"candy", "mosaic", "pointilism", "rain-princess", "udnie"} {
			adversarialNorms(t, name, normVariances(t, name+".onnx"))
		}
	})
	// A real frame: logged, not checked (how many channels are past
	// 65504 depends on the picture).
	t.Run("car", func(t *testing.T) {
		const w, h = 768, 432
		largest(t, w, h, [][]float32{carFrame(t, w, h)})
	})
}

// normVariances opens the shared float32 model name on the CPU with its
// norms' inputs as outputs, and returns a function that runs frames
// through it and returns each norm's largest channel variance over them,
// and how many (frame, norm, channel)s are past 65504 (logging both).
func normVariances(t *testing.T, name string) func(t *testing.T, w, h int, frames [][]float32) (top []float64, over int) {
	t.Helper()
	data := readModel(t, sharedModel(t, name))
	nodes, _ := graphNodes(t, data)
	var xs []string // each norm's input
	for _, nd := range nodes {
		if nd.op == "InstanceNormalization" {
			xs = append(xs, nd.ins[0])
		}
	}
	if len(xs) != 15 {
		t.Fatalf("%d norms in %s, want 15", len(xs), name)
	}
	s := probeSession(t, data, xs, false)
	return func(t *testing.T, w, h int, frames [][]float32) (top []float64, over int) {
		top = make([]float64, len(xs))
		for _, f := range frames {
			in, err := ort.NewTensor(ort.NewShape(1, 3, int64(h), int64(w)), f)
			if err != nil {
				t.Fatal(err)
			}
			outs := make([]ort.Value, len(xs))
			err = s.Run([]ort.Value{in}, outs)
			in.Destroy()
			if err != nil {
				t.Fatal(err)
			}
			for i, o := range outs {
				x, ok := o.(*ort.Tensor[float32])
				if !ok {
					t.Fatalf("norm %d input: %T", i, o)
				}
				d, sh := x.GetData(), x.GetShape()
				hw := int(sh[2] * sh[3])
				for c := range int(sh[1]) {
					v := variance(d[c*hw : (c+1)*hw])
					top[i] = max(top[i], v)
					if v > 65504 {
						over++
					}
				}
				o.Destroy()
			}
		}
		for i, v := range top {
			t.Logf("norm %2d (input %s): largest channel variance %.4g", i, xs[i], v)
		}
		t.Logf("channels past float16's 65504, over %d frames and %d norms: %d", len(frames), len(xs), over)
		return top, over
	}
}

// variance of x, unbiased (as cuDNN's running variance).
func variance(x []float32) float64 {
	m := 0.0
	for _, v := range x {
		m += float64(v)
	}
	m /= float64(len(x))
	q := 0.0
	for _, v := range x {
		q += (float64(v) - m) * (float64(v) - m)
	}
	return q / float64(len(x)-1)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// adversarialNorms runs frames made to stress the norms through the
// network name (largest from normVariances) and checks that no norm but
// the first leaves a quarter of float16's range; it logs the largest.
func adversarialNorms(t *testing.T, name string, largest func(t *testing.T, w, h int, frames [][]float32) ([]float64, int)) {
	t.Helper()
	deepest := 0.0
	for _, sz := range [][2]int{{256, 144}, {64, 48}, {32, 32}} {
		w, h := sz[0], sz[1]
		gen := map[string]func(x, y, c int) float32{
			"checker1":    func(x, y, c int) float32 { return float32(255 * ((x + y) & 1)) },
			"checker4":    func(x, y, c int) float32 { return float32(255 * ((x/4 + y/4) & 1)) },
			"checker16":   func(x, y, c int) float32 { return float32(255 * ((x/16 + y/16) & 1)) },
			"stripes1":    func(x, y, c int) float32 { return float32(255 * (x & 1)) },
			"rows2":       func(x, y, c int) float32 { return float32(255 * (y / 2 & 1)) },
			"dot":         func(x, y, c int) float32 { return float32(255 * b2i(x == w/2 && y == h/2)) },
			"hole":        func(x, y, c int) float32 { return float32(255 * b2i(x != w/2 || y != h/2)) },
			"halves":      func(x, y, c int) float32 { return float32(255 * b2i(x >= w/2)) },
			"colourcheck": func(x, y, c int) float32 { return float32(255 * ((x + y + c) & 1)) },
			"red":         func(x, y, c int) float32 { return float32(255 * b2i(c == 0)) },
			"noise":       func(x, y, c int) float32 { return float32((x*7919 + y*104729 + c*1299709) * 2654435761 % 256) },
			"gradient":    func(x, y, c int) float32 { return float32(255 * x / max(1, w-1)) },
			"black":       func(x, y, c int) float32 { return 0 },
			"white":       func(x, y, c int) float32 { return 255 },
		}
		var kinds []string
		var fs [][]float32
		for kind, g := range gen {
			f := make([]float32, 3*w*h)
			for c := range 3 {
				for y := range h {
					for x := range w {
						f[c*w*h+y*w+x] = g(x, y, c)
					}
				}
			}
			kinds, fs = append(kinds, kind), append(fs, f)
		}
		top, _ := largest(t, w, h, fs)
		for i, v := range top[1:] {
			deepest = max(deepest, v)
			if v > 65504/4 {
				t.Errorf("%s, %dx%d: norm %d's input reaches a channel variance of %.4g on one of %v: past a quarter of float16's range", name, w, h, i+1, v, kinds)
			}
		}
	}
	t.Logf("%s: the deeper norms' largest channel variance on the stress frames: %.4g", name, deepest)
}
