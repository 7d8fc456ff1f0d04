package stylize

import (
	"errors"
	"os"
	"slices"

	"github.com/vidnst/vidnst/internal/half"
)

// ONNX element types (TensorProto.DataType).
const (
	elemFloat   = 1
	elemFloat16 = 10
)

// errNoHalfIO: the graph is not an fp16 network between a float32 input and
// output (halfIO leaves it as it is).
var errNoHalfIO = errors.New("not a float16 network with float32 input and output")

// halfIO returns a copy of the ModelProto data whose graph input in and
// output out are float16 instead of float32, for an fp16 network that
// casts its float32 input to float16 first thing and its float16 result to
// float32 last thing (the shared fp16 models: Cast(input1) -> input1_h ...
// output1_h -> Cast -> output1). The two Casts are dropped and their
// tensors renamed, so the network computes exactly what it did from the
// same float16 values: the caller rounds the input to float16 (ties to
// even, as Cast does) and widens the output, on the CPU, while the GPU
// copies half the bytes each way and runs two kernels fewer. It returns
// errNoHalfIO when the graph does not have that shape: some other
// consumer of in, an output whose Cast reads a tensor not known to be
// float16 (known: a Cast's to float16, then the first input's type carried
// through operators that keep it), out or a tensor to be renamed read
// elsewhere or declared a graph output, subgraphs. Session.New runs any
// graph halfIO refuses as it is.
func halfIO(data []byte, in, out string) ([]byte, error) {
	graph, err := modelGraph(data)
	if err != nil {
		return nil, err
	}
	var nodes []*protoNode
	if err := pbWalk(graph, func(f pbField) error {
		if f.num == 1 && f.wire == 2 {
			nd, err := parseNode(f.b)
			if err != nil {
				return err
			}
			nodes = append(nodes, nd)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	castTo := func(nd *protoNode, to int64) bool {
		a, ok := nd.attrs["to"]
		return nd.is("Cast") && len(nd.ins) == 1 && len(nd.outs) == 1 && ok && attrInt(a) == to
	}
	rename := map[string]string{} // tensor -> its new name
	f16 := map[string]bool{}      // tensors known to be float16
	var lastCast *protoNode       // the Cast that makes out
	for _, nd := range nodes {
		if nd.subgraph {
			return nil, errNoHalfIO
		}
		if slices.Contains(nd.ins, out) { // the output read inside: it would turn float16
			return nil, errNoHalfIO
		}
		if slices.Contains(nd.ins, in) {
			if !castTo(nd, elemFloat16) || rename[nd.outs[0]] != "" {
				return nil, errNoHalfIO
			}
			rename[nd.outs[0]] = in
		}
		switch {
		case castTo(nd, elemFloat16):
			f16[nd.outs[0]] = true
		case len(nd.ins) > 0 && len(nd.outs) > 0 && keepsType[nd.op] && nd.domain == "" && f16[nd.ins[0]]:
			f16[nd.outs[0]] = true
		}
		if slices.Contains(nd.outs, out) {
			if !castTo(nd, elemFloat) || !f16[nd.ins[0]] || nd.ins[0] == in {
				return nil, errNoHalfIO
			}
			lastCast = nd
		}
	}
	if len(rename) == 0 || lastCast == nil {
		return nil, errNoHalfIO
	}
	for k := range rename {
		if k == out {
			return nil, errNoHalfIO
		}
	}
	rename[lastCast.ins[0]] = out

	names := func(b []byte) ([]byte, error) { // a NodeProto with its tensors renamed
		return pbRewrite(b, func(g pbField) (pbField, bool, error) {
			if (g.num == 1 || g.num == 2) && g.wire == 2 {
				if to, ok := rename[string(g.b)]; ok {
					g.b = []byte(to)
				}
			}
			return g, true, nil
		})
	}
	var dropped int
	g, err := pbRewrite(graph, func(f pbField) (pbField, bool, error) {
		if f.wire != 2 {
			return f, true, nil
		}
		switch f.num {
		case 1: // node
			nd, err := parseNode(f.b)
			if err != nil {
				return f, false, err
			}
			if castTo(nd, elemFloat16) && nd.ins[0] == in || castTo(nd, elemFloat) && nd.outs[0] == out {
				dropped++
				return f, false, nil
			}
			f.b, err = names(f.b)
			return f, true, err
		case 11, 12: // graph input, output
			io, err := parseValueInfo(f.b)
			if err != nil {
				return f, false, err
			}
			if _, ok := rename[io.name]; ok && f.num == 12 { // another output the rewrite would lose
				return f, false, errNoHalfIO
			}
			if (f.num == 11 && io.name == in) || (f.num == 12 && io.name == out) {
				if io.elem != elemFloat {
					return f, false, errNoHalfIO
				}
				f.b, err = setElem(f.b, elemFloat16)
				return f, true, err
			}
		case 13: // value_info: shape hints; those of renamed tensors go
			io, err := parseValueInfo(f.b)
			if err != nil {
				return f, false, err
			}
			if _, ok := rename[io.name]; ok || io.name == in || io.name == out {
				return f, false, nil
			}
		}
		return f, true, nil
	})
	if err != nil {
		return nil, err
	}
	if dropped != len(rename) { // the input's Casts and the output's
		return nil, errNoHalfIO
	}
	return withGraph(data, g)
}

// keepsType: operators whose first output has their first input's element
// type (the ones the style networks are made of, and their kin).
var keepsType = map[string]bool{
	"Conv": true, "ConvTranspose": true, "Pad": true, "InstanceNormalization": true,
	"BatchNormalization": true, "Relu": true, "LeakyRelu": true, "Elu": true, "PRelu": true,
	"Add": true, "Sub": true, "Mul": true, "Div": true, "Resize": true, "Upsample": true,
	"Clip": true, "Tanh": true, "Sigmoid": true, "Identity": true, "Reshape": true,
	"Transpose": true, "Slice": true, "Concat": true, "MaxPool": true, "AveragePool": true,
}

// setElem is the ValueInfoProto vi with its tensor element type set to elem.
func setElem(vi []byte, elem uint64) ([]byte, error) {
	found := false
	out, err := pbRewrite(vi, func(f pbField) (pbField, bool, error) {
		if f.num != 2 || f.wire != 2 { // TypeProto
			return f, true, nil
		}
		b, err := pbRewrite(f.b, func(t pbField) (pbField, bool, error) {
			if t.num != 1 || t.wire != 2 { // tensor_type
				return t, true, nil
			}
			tb, err := pbRewrite(t.b, func(tt pbField) (pbField, bool, error) {
				if tt.num == 1 && tt.wire == 0 {
					tt.v, found = elem, true
				}
				return tt, true, nil
			})
			t.b = tb
			return t, true, err
		})
		f.b = b
		return f, true, err
	})
	if err == nil && !found {
		err = errProto
	}
	return out, err
}

// halfIOWanted says whether a session on a CUDA device (cuda) should try
// halfIO: by default on CUDA when the CPU converts float16 in hardware
// (half.Hardware; in Go the conversions cost more than the copies they
// save). VIDNST_FP16_IO=off never, =on also on the CPU and without
// hardware conversions (for tests and A/B runs).
func halfIOWanted(cuda bool) (bool, error) {
	switch v := os.Getenv("VIDNST_FP16_IO"); v {
	case "":
		return cuda && half.Hardware(), nil
	case "on":
		return true, nil
	case "off":
		return false, nil
	default:
		return false, errors.New("VIDNST_FP16_IO=" + v + ": want on or off (or unset)")
	}
}
