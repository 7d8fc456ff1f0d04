package stylize

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/vidnst/vidnst/internal/half"
)

// fp32Norms returns a copy of the ModelProto data in which every
// InstanceNormalization node with float16 scale and bias runs in float32:
// a Cast to float32 before it, float32 copies of its scale and bias, and a
// Cast back to float16 after it, all under the node's own output name.
// Everything else is copied as it is; n is the number of nodes rewritten
// (0: data is returned unchanged).
//
// Why: ONNX Runtime's CUDA provider (1.29) computes a float16
// InstanceNormalization wrongly when the batch holds more than one frame:
// the style networks' output for a frame batched with others (or padded)
// was 10.4 dB from its output alone, while the float32 model agreed to 77
// dB (TestGPUBatchesMatch, BENCHMARKS.md). The cause, read from ONNX
// Runtime's source (instance_norm_impl.cu): with N > 1 its kernel casts
// each channel's variance (computed in float32) to float16 before it
// divides, and the first norm of these networks sees variances past
// float16's 65504 (to 1.3e6 on the test frames, TestNormInputVariance):
// those channels become +Inf and collapse to their bias. At N = 1 cuDNN
// keeps all of it in float32. Copying that kernel's steps into the graph
// on the CPU reproduces the GPU's 10.4 dB (TestScaleNormsEmulatedNetwork).
// The convolutions, where the time goes, stay in float16. The default
// mend is foldNorms (faster: BENCHMARKS.md); this one is
// VIDNST_FP16_NORMS=float32, for A/B runs like scaleNorms.
func fp32Norms(data []byte) (out []byte, n int, err error) { return rewriteNorms(data, 0) }

// foldNorms is the default mend on CUDA at a batch above 1 (mendNorms; on an H100 at 1080p,
// batch 4, 80.8 frames/s against 65.3 for fp32Norms, and a batch 71.5 dB
// from each frame alone): each float16 norm stays
// in float16 but sees one frame of batch frames with batch*C channels
// (Reshape [N,C,H,W] -> [1,N*C,H,W], the scale and bias repeated N times,
// Reshape back), the shape at which ONNX Runtime's CUDA kernel is right
// (its N = 1 path, one cuDNN call that keeps the statistics in float32),
// without the casts' memory passes. Its models run only at that batch (the
// CUDA session pads partial batches).
func foldNorms(data []byte, batch int) (out []byte, n int, err error) {
	if batch < 1 {
		return nil, 0, errors.New("fold: batch < 1")
	}
	return rewriteNorms(data, batch)
}

// rewriteNorms is fp32Norms (fold 0) and foldNorms (fold = the batch).
func rewriteNorms(data []byte, fold int) (out []byte, n int, err error) {
	graph, err := modelGraph(data)
	if err != nil {
		return nil, 0, err
	}
	inits, err := halfInits(graph)
	if err != nil {
		return nil, 0, err
	}
	var added []byte          // new initializers, appended after the graph's fields
	made := map[string]bool{} // their names: one two norms share is added once
	addInit := func(name string, typ uint64, dims []pbField, raw []byte) {
		if made[name] {
			return
		}
		made[name] = true
		var b []byte
		for _, d := range dims {
			b = pbAppend(b, d)
		}
		b = pbAppend(b, pbField{num: 2, wire: 0, v: typ})
		b = pbAppend(b, pbField{num: 8, wire: 2, b: []byte(name)})
		b = pbAppend(b, pbField{num: 9, wire: 2, b: raw})
		added = pbAppend(added, pbField{num: 5, wire: 2, b: b})
	}
	dims := func(ds ...int64) []pbField {
		fs := make([]pbField, len(ds))
		for i, d := range ds {
			fs[i] = pbField{num: 1, wire: 0, v: uint64(d)}
		}
		return fs
	}
	rewriteNode := func(node []byte) ([]pbField, error) {
		nd, err := parseNode(node)
		if err != nil || !halfNorm(nd, inits) {
			return nil, err
		}
		ins, outs := nd.ins, nd.outs
		scale, bias := inits[ins[1]], inits[ins[2]]
		suffix := "__vidnst_fp32"
		if fold > 0 {
			suffix = fmt.Sprintf("__vidnst_fold%d", fold)
		}
		for k, t := range []*halfTensor{scale, bias} {
			if fold == 0 { // float32 copies
				raw := make([]byte, 4*len(t.half))
				for i, h := range t.half {
					binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(half.ToFloat32(h)))
				}
				addInit(ins[1+k]+suffix, 1, t.dims, raw)
				continue
			}
			raw := make([]byte, 0, 2*len(t.half)*fold) // float16, repeated per frame
			for range fold {
				for _, h := range t.half {
					raw = binary.LittleEndian.AppendUint16(raw, h)
				}
			}
			addInit(ins[1+k]+suffix, 10, dims(int64(fold*len(t.half))), raw)
		}
		x, y := ins[0]+suffix+"_in_"+outs[0], outs[0]+suffix
		norm, err := pbRewrite(node, func(g pbField) (pbField, bool, error) {
			if g.wire != 2 {
				return g, true, nil
			}
			switch g.num {
			case 1: // inputs: all three replaced below, in order
				return g, false, nil
			case 2:
				g.b = []byte(y)
			case 3:
				g.b = append([]byte(nil), g.b...)
				g.b = append(g.b, suffix...)
			}
			return g, true, nil
		})
		if err != nil {
			return nil, err
		}
		var in3 []byte
		for _, s := range []string{x, ins[1] + suffix, ins[2] + suffix} {
			in3 = pbAppend(in3, pbField{num: 1, wire: 2, b: []byte(s)})
		}
		norm = append(in3, norm...)
		before, after := castNode(ins[0], x, 1), castNode(y, outs[0], 10)
		if fold > 0 {
			c := int64(len(scale.half))
			shape := func(name string, v ...int64) string {
				raw := make([]byte, 0, 8*len(v))
				for _, d := range v {
					raw = binary.LittleEndian.AppendUint64(raw, uint64(d))
				}
				addInit(name, 7, dims(int64(len(v))), raw) // INT64
				return name
			}
			// Dims of 0 copy the input's (H and W).
			in := shape(fmt.Sprintf("__vidnst_fold_%dx%d", fold, c), 1, int64(fold)*c, 0, 0)
			back := shape(fmt.Sprintf("__vidnst_unfold_%dx%d", fold, c), int64(fold), c, 0, 0)
			before, after = opNode("Reshape", []string{ins[0], in}, x), opNode("Reshape", []string{y, back}, outs[0])
		}
		return []pbField{
			{num: 1, wire: 2, b: before},
			{num: 1, wire: 2, b: norm},
			{num: 1, wire: 2, b: after},
		}, nil
	}
	var g []byte
	err = pbWalk(graph, func(f pbField) error {
		if f.num == 1 && f.wire == 2 {
			nodes, err := rewriteNode(f.b)
			if err != nil {
				return err
			}
			if nodes != nil {
				n++
				for _, nd := range nodes {
					g = pbAppend(g, nd)
				}
				return nil
			}
		}
		g = pbAppend(g, f)
		return nil
	})
	if err != nil || n == 0 {
		return data, 0, err
	}
	out, err = withGraph(data, append(g, added...))
	return out, n, err
}

// castNode is a NodeProto: Cast(in) -> out, to the ONNX element type to.
func castNode(in, out string, to uint64) []byte {
	var attr []byte
	attr = pbAppend(attr, pbField{num: 1, wire: 2, b: []byte("to")})
	attr = pbAppend(attr, pbField{num: 3, wire: 0, v: to})
	attr = pbAppend(attr, pbField{num: 20, wire: 0, v: 2}) // INT
	return opNode("Cast", []string{in}, out, attr)
}

// opNode is a NodeProto: op(ins...) -> out, named after out, with the
// given AttributeProtos.
func opNode(op string, ins []string, out string, attrs ...[]byte) []byte {
	var b []byte
	for _, in := range ins {
		b = pbAppend(b, pbField{num: 1, wire: 2, b: []byte(in)})
	}
	b = pbAppend(b, pbField{num: 2, wire: 2, b: []byte(out)})
	b = pbAppend(b, pbField{num: 3, wire: 2, b: []byte(out + "_" + strings.ToLower(op))})
	b = pbAppend(b, pbField{num: 4, wire: 2, b: []byte(op)})
	for _, a := range attrs {
		b = pbAppend(b, pbField{num: 5, wire: 2, b: a})
	}
	return b
}

// withGraph is the ModelProto data with graph as its GraphProto.
func withGraph(data, graph []byte) ([]byte, error) {
	return pbRewrite(data, func(f pbField) (pbField, bool, error) {
		if f.num == 7 && f.wire == 2 {
			f.b = graph
		}
		return f, true, nil
	})
}

// halfNorm reports whether nd is an InstanceNormalization whose scale and
// bias are float16 initializers (in inits) of one length.
func halfNorm(nd *protoNode, inits map[string]*halfTensor) bool {
	if !nd.is("InstanceNormalization") || len(nd.ins) != 3 || len(nd.outs) != 1 {
		return false
	}
	s, b := inits[nd.ins[1]], inits[nd.ins[2]]
	return s != nil && b != nil && len(s.half) == len(b.half)
}

// modelGraph is the GraphProto of the ModelProto data.
func modelGraph(data []byte) ([]byte, error) {
	var graph []byte
	if err := pbWalk(data, func(f pbField) error {
		if f.num == 7 && f.wire == 2 {
			graph = f.b
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if graph == nil {
		return nil, errProto
	}
	return graph, nil
}

// halfTensor is a float16 initializer: its dims as the file has them
// (packed or not) and its values' bits.
type halfTensor struct {
	dims []pbField
	half []uint16
}

// halfInits reads the graph's float16 initializers stored in the file
// (raw_data or int32_data; external ones are left out), by name.
func halfInits(graph []byte) (map[string]*halfTensor, error) {
	inits := map[string]*halfTensor{}
	err := pbWalk(graph, func(f pbField) error {
		if f.num != 5 || f.wire != 2 {
			return nil
		}
		t := &halfTensor{}
		var elem uint64
		external := false
		var name string
		var raw []byte
		var ints []uint64
		err := pbWalk(f.b, func(g pbField) error {
			switch {
			case g.num == 1:
				t.dims = append(t.dims, g)
			case g.num == 2 && g.wire == 0:
				elem = g.v
			case g.num == 8 && g.wire == 2:
				name = string(g.b)
			case g.num == 9 && g.wire == 2:
				raw = g.b
			case g.num == 5 && g.wire == 0:
				ints = append(ints, g.v)
			case g.num == 5 && g.wire == 2: // packed int32_data
				for b := g.b; len(b) > 0; {
					v, k := binary.Uvarint(b)
					if k <= 0 {
						return errProto
					}
					ints, b = append(ints, v), b[k:]
				}
			case g.num == 14 && g.v == 1: // data_location EXTERNAL
				external = true
			}
			return nil
		})
		if err != nil || elem != 10 || external {
			return err
		}
		switch {
		case raw != nil && len(raw)%2 == 0:
			t.half = make([]uint16, len(raw)/2)
			for i := range t.half {
				t.half[i] = binary.LittleEndian.Uint16(raw[2*i:])
			}
		case raw == nil:
			t.half = make([]uint16, len(ints))
			for i, v := range ints {
				t.half[i] = uint16(v)
			}
		default:
			return nil
		}
		inits[name] = t
		return nil
	})
	return inits, err
}
