package stylize

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/vidnst/vidnst/internal/half"
)

// normVarLimit is the largest channel variance scaleNorms leaves a norm's
// input: float16 holds up to 65504, and the rest covers the kernel taking
// the unbiased variance (n/(n-1) times this: at most 1.5 times for the n >=
// 3 pixels of any frame, and the networks need 32x32) and float16 rounding.
const normVarLimit = 1 << 15

// minHalfEps is the smallest epsilon scaleNorms gives a norm: 2^-24, the
// smallest float16 above 0. ONNX Runtime's kernel adds the epsilon in
// float16, and one that rounds to 0 would divide 0 by 0 on a flat channel
// (a black frame) and give NaN.
const minHalfEps = 1.0 / (1 << 24)

// scaledNorm is what scaleNorms did to one norm.
type scaledNorm struct {
	Norm, Conv string  // the norm's output and the Conv feeding it
	Shift      int     // the Conv's weight and bias were scaled by 2^-Shift
	Bound      float64 // the largest variance the norm's input could have before
	Inexact    int     // weights that lost bits (became float16 subnormals)
}

// scaleNorms is the third mend for ONNX Runtime's CUDA float16
// InstanceNormalization in batches (see fp32Norms; VIDNST_FP16_NORMS=scale;
// on an H100 right to 55 dB and slower than foldNorms): it keeps the graph
// as it is, every op in float16, and makes the overflow impossible instead. A norm gives the
// same output for x*s with epsilon*s^2 as for x with epsilon, so where a
// norm's input comes from a Conv of the model's input, whose values lie in
// [lo, hi], the Conv's weights and bias are scaled by 2^-k (exact in
// float16 unless a weight becomes subnormal: Inexact counts them) and the
// norm's epsilon by 4^-k (but not below minHalfEps, which matters only on
// a channel whose variance is about 1e-3 before scaling), with k the
// smallest that brings the largest variance that input can have under
// normVarLimit. By Popoviciu's inequality a channel whose values span at
// most (hi-lo)*sum|w| has a variance of at most a quarter of that squared;
// the bound holds for any picture, not only the frames measured. Norms
// deeper in the network are left alone: their inputs cannot be bounded
// from the weights, and measured they stay far below the limit (1664 at
// most in the five networks, on frames made to stress them:
// TestNormInputVariance).
//
// The Conv must feed only that norm, and its input must come from the
// graph input named input through Identity, Cast (to float or float16) and Pad
// (reflecting, repeating the edge, or padding with 0 where no value is
// given) alone; a Conv that pads itself adds zeros, so 0 must lie in [lo,
// hi] too. The scaled weight and bias are new initializers (the old ones
// are dropped where nothing else reads them); everything else is copied
// as it is. A graph with subgraphs (If, Loop) is left as it is: who reads
// what is not all in view.
func scaleNorms(data []byte, input string, lo, hi float64) (out []byte, done []scaledNorm, err error) {
	graph, err := modelGraph(data)
	if err != nil {
		return nil, nil, err
	}
	inits, err := halfInits(graph)
	if err != nil {
		return nil, nil, err
	}
	var nodes []*protoNode
	subgraphs := false
	graphIn, graphOut := map[string]bool{}, map[string]bool{}
	allInits := map[string]bool{}
	err = pbWalk(graph, func(f pbField) error {
		if f.wire != 2 {
			return nil
		}
		switch f.num {
		case 1:
			nd, err := parseNode(f.b)
			nodes = append(nodes, nd)
			subgraphs = subgraphs || nd.subgraph
			return err
		case 5, 11, 12: // initializer, input, output: their names
			set, nameField := allInits, 8
			if f.num != 5 {
				set, nameField = graphIn, 1
				if f.num == 12 {
					set = graphOut
				}
			}
			return pbWalk(f.b, func(g pbField) error {
				if g.num == nameField && g.wire == 2 {
					set[string(g.b)] = true
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if subgraphs {
		return data, nil, nil
	}
	producer, uses := map[string]*protoNode{}, map[string]int{}
	taken := map[string]bool{} // every name in the graph
	for n := range allInits {
		taken[n] = true
	}
	for n := range graphIn {
		taken[n] = true
	}
	for _, nd := range nodes {
		for _, o := range nd.outs {
			producer[o], taken[o] = nd, true
		}
		for _, i := range nd.ins {
			uses[i]++
		}
	}
	// fromInput: x is the graph input, or it through Casts and Pads that
	// bring in no value from outside [lo, hi].
	fromInput := func(x string) bool {
		for range len(nodes) + 1 {
			if x == input && graphIn[x] && !allInits[x] {
				return true
			}
			p := producer[x]
			if p == nil || len(p.ins) == 0 {
				return false
			}
			switch {
			case p.is("Identity"):
			case p.is("Cast"):
				if to := attrInt(p.attrs["to"]); to != 1 && to != 10 {
					return false
				}
			case p.is("Pad"):
				mode := string(attrBytes(p.attrs["mode"]))
				constant := mode == "" || mode == "constant"
				value := len(p.ins) > 2 && p.ins[2] != "" || attrFloat(p.attrs["value"], 0) != 0
				if constant && (value || lo > 0 || hi < 0) {
					return false
				}
			default:
				return false
			}
			x = p.ins[0]
		}
		return false
	}
	type plan struct {
		conv, norm *protoNode
		w, b       string // the Conv's new weight and bias names
		eps        float32
	}
	plans := map[*protoNode]*plan{} // by Conv and by norm
	var added []byte
	made := map[string]bool{}    // the new initializers: one two Convs share is made once
	replaced := map[string]int{} // initializer reads moved to a scaled copy
	for _, norm := range nodes {
		if !halfNorm(norm, inits) {
			continue
		}
		conv := producer[norm.ins[0]]
		if conv == nil || !conv.is("Conv") || len(conv.ins) < 2 || len(conv.outs) != 1 ||
			uses[conv.outs[0]] != 1 || graphOut[conv.outs[0]] || plans[conv] != nil || !fromInput(conv.ins[0]) {
			continue
		}
		autoPad := string(attrBytes(conv.attrs["auto_pad"]))
		if _, pads := conv.attrs["pads"]; (pads || autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") && (lo > 0 || hi < 0) {
			continue // its padding zeros lie outside [lo, hi]
		}
		w := inits[conv.ins[1]]
		var b *halfTensor
		if len(conv.ins) > 2 && conv.ins[2] != "" {
			if b = inits[conv.ins[2]]; b == nil {
				continue
			}
		}
		dims := tensorDims(w)
		if w == nil || len(dims) < 3 || dims[0] < 1 || len(w.half)%int(dims[0]) != 0 || (b != nil && len(b.half) != int(dims[0])) {
			continue
		}
		m := int(dims[0])
		per := len(w.half) / m
		bound := 0.0
		for c := range m {
			sum := 0.0
			for _, h := range w.half[c*per : (c+1)*per] {
				sum += math.Abs(float64(half.ToFloat32(h)))
			}
			span := (hi - lo) * sum
			bound = max(bound, span*span/4)
		}
		shift := 0
		for bound/math.Pow(4, float64(shift)) > normVarLimit && shift < 24 {
			shift++
		}
		if shift == 0 || !(bound/math.Pow(4, float64(shift)) <= normVarLimit) {
			continue // nothing to do, or no shift is enough (or the weights are not finite)
		}
		p := &plan{conv: conv, norm: norm, eps: max(attrFloat(norm.attrs["epsilon"], 1e-5)/float32(math.Pow(4, float64(shift))), minHalfEps)}
		rep := scaledNorm{Norm: norm.outs[0], Conv: conv.outs[0], Shift: shift, Bound: bound}
		suffix := fmt.Sprintf("__vidnst_scale%d", shift)
		scaled := func(name string, t *halfTensor) string {
			if made[name+suffix] {
				return name + suffix
			}
			made[name+suffix] = true
			raw := make([]byte, 2*len(t.half))
			for i, h := range t.half {
				v := half.ToFloat32(h)
				s := half.FromFloat32(v / float32(int64(1)<<shift))
				if half.ToFloat32(s)*float32(int64(1)<<shift) != v {
					rep.Inexact++
				}
				binary.LittleEndian.PutUint16(raw[2*i:], s)
			}
			var ib []byte
			for _, d := range t.dims {
				ib = pbAppend(ib, d)
			}
			ib = pbAppend(ib, pbField{num: 2, wire: 0, v: 10})
			ib = pbAppend(ib, pbField{num: 8, wire: 2, b: []byte(name + suffix)})
			ib = pbAppend(ib, pbField{num: 9, wire: 2, b: raw})
			added = pbAppend(added, pbField{num: 5, wire: 2, b: ib})
			return name + suffix
		}
		// New names, so a weight another node shares keeps its values. A
		// name the graph already has would make the model invalid.
		if taken[conv.ins[1]+suffix] || (b != nil && taken[conv.ins[2]+suffix]) {
			continue
		}
		p.w = scaled(conv.ins[1], w)
		if b != nil {
			p.b = scaled(conv.ins[2], b)
		}
		for _, name := range conv.ins[1:min(3, len(conv.ins))] {
			replaced[name]++
		}
		plans[conv], plans[norm] = p, p
		done = append(done, rep)
	}
	if len(done) == 0 {
		return data, nil, nil
	}
	drop := map[string]bool{} // initializers only the scaled Convs read
	for name, n := range replaced {
		drop[name] = n == uses[name] && !graphIn[name] && !graphOut[name]
	}
	var g []byte
	i := 0
	err = pbWalk(graph, func(f pbField) error {
		if f.num == 5 && f.wire == 2 && len(drop) > 0 {
			name := ""
			if err := pbWalk(f.b, func(h pbField) error {
				if h.num == 8 && h.wire == 2 {
					name = string(h.b)
				}
				return nil
			}); err != nil || drop[name] {
				return err
			}
		}
		if f.num != 1 || f.wire != 2 {
			g = pbAppend(g, f)
			return nil
		}
		nd := nodes[i]
		i++
		p := plans[nd]
		if p == nil {
			g = pbAppend(g, f)
			return nil
		}
		in := 0
		b, err := pbRewrite(f.b, func(h pbField) (pbField, bool, error) {
			switch {
			case h.num == 1 && h.wire == 2 && nd == p.conv:
				switch in++; in {
				case 2:
					h.b = []byte(p.w)
				case 3:
					if p.b != "" {
						h.b = []byte(p.b)
					}
				}
			case h.num == 5 && h.wire == 2 && nd == p.norm:
				return h, h.b == nil || !isAttr(h.b, "epsilon"), nil
			}
			return h, true, nil
		})
		if nd == p.norm {
			var a []byte
			a = pbAppend(a, pbField{num: 1, wire: 2, b: []byte("epsilon")})
			a = pbAppend(a, pbField{num: 2, wire: 5, v: uint64(math.Float32bits(p.eps))})
			a = pbAppend(a, pbField{num: 20, wire: 0, v: 1}) // FLOAT
			b = pbAppend(b, pbField{num: 5, wire: 2, b: a})
		}
		g = pbAppend(g, pbField{num: 1, wire: 2, b: b})
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	out, err = withGraph(data, append(g, added...))
	return out, done, err
}

// mendNorms applies the float16 norms mend named by VIDNST_FP16_NORMS
// ("" for the default, foldNorms; "float32" for fp32Norms; "keep" for
// none; "fold"; "scale") to the model data for a CUDA session at batch,
// whose image input (named input) has the convention c. It returns the new
// data and what it did, as Session.Mend says it ("" when data comes back
// as it is). Where scale finds no Conv to scale in a model with float16
// norms, fp32Norms is applied instead: the file as it is would be wrong in
// batches.
//
// Why fold by default: on an H100 at 1920x1080, batch 4, two runs at once,
// fold ran 80.8 frames/s against 65.3 for float32 norms and 73.9 for
// scale, and a batch of 4 gave what each frame gives alone to 71.5 dB
// (float32 norms 70.0, scale 55.1; BENCHMARKS.md).
func mendNorms(data []byte, mend string, batch int, c Convention, input string) ([]byte, string, error) {
	label := func(out []byte, what string, n int, err error) ([]byte, string, error) {
		if err != nil || n == 0 {
			return data, "", err
		}
		return out, fmt.Sprintf("fp16 norms: %s (%d)", what, n), nil
	}
	what := "float32" // mend "float32", and scale where it finds nothing to scale
	switch mend {
	case "keep":
		return data, "", nil
	case "", "fold": // the nodes fp32Norms rewrites (rewriteNorms picks them)
		out, n, err := foldNorms(data, batch)
		return label(out, "fold", n, err)
	case "scale":
		a, b := c.toModel() // the model sees pixel values 0..255 as a*v+b
		lo, hi := float64(b), float64(255*a+b)
		out, done, err := scaleNorms(data, input, min(lo, hi), max(lo, hi))
		if err != nil || len(done) > 0 {
			return label(out, "scale", len(done), err)
		}
		what = "float32, as scale found no Conv to scale"
	}
	out, n, err := fp32Norms(data)
	return label(out, what, n, err)
}

// tensorDims are the dims of t (packed or not; nil if t is nil).
func tensorDims(t *halfTensor) []int64 {
	if t == nil {
		return nil
	}
	var ds []int64
	for _, d := range t.dims {
		if d.wire == 0 {
			ds = append(ds, int64(d.v))
			continue
		}
		for b := d.b; len(b) > 0; {
			v, k := binary.Uvarint(b)
			if k <= 0 {
				return nil
			}
			ds, b = append(ds, int64(v)), b[k:]
		}
	}
	return ds
}
