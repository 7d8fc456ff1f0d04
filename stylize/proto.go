package stylize

import (
	"encoding/binary"
	"errors"
	"math"
)

// A minimal protobuf reader for the part of an ONNX ModelProto that
// ONNX Runtime's API does not report: the names of dynamic dimensions
// (dim_param). It also serves as a cheap "is this ONNX at all" check before
// the file reaches ONNX Runtime.

var errProto = errors.New("malformed protobuf")

type pbField struct {
	num  int
	wire int
	v    uint64 // varint / fixed value
	b    []byte // length-delimited payload
}

// pbWalk calls fn for each top-level field of msg; it fails on any
// malformed field.
func pbWalk(msg []byte, fn func(f pbField) error) error {
	for len(msg) > 0 {
		tag, n := binary.Uvarint(msg)
		if n <= 0 {
			return errProto
		}
		msg = msg[n:]
		f := pbField{num: int(tag >> 3), wire: int(tag & 7)}
		if f.num == 0 {
			return errProto
		}
		switch f.wire {
		case 0:
			f.v, n = binary.Uvarint(msg)
			if n <= 0 {
				return errProto
			}
			msg = msg[n:]
		case 1:
			if len(msg) < 8 {
				return errProto
			}
			f.v, msg = binary.LittleEndian.Uint64(msg), msg[8:]
		case 2:
			l, n := binary.Uvarint(msg)
			if n <= 0 || l > uint64(len(msg)-n) {
				return errProto
			}
			f.b, msg = msg[n:n+int(l)], msg[n+int(l):]
		case 5:
			if len(msg) < 4 {
				return errProto
			}
			f.v, msg = uint64(binary.LittleEndian.Uint32(msg)), msg[4:]
		default:
			return errProto
		}
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

// protoIO is a graph input or output as declared in the file.
type protoIO struct {
	name      string
	elem      int64
	dims      []int64  // -1 for dynamic
	dimParams []string // "" where fixed or unnamed
}

// protoModel is what parseModel extracts.
type protoModel struct {
	irVersion int64
	opset     int64 // of the default domain, 0 if absent
	producer  string
	inputs    []protoIO // graph inputs that are not initializers
	outputs   []protoIO
}

// parseModel reads data as an ONNX ModelProto. It fails when data is not a
// well-formed protobuf or has no graph.
func parseModel(data []byte) (*protoModel, error) {
	m := &protoModel{}
	var graph []byte
	hasGraph := false
	err := pbWalk(data, func(f pbField) error {
		switch f.num {
		case 1:
			if f.wire != 0 {
				return errProto
			}
			m.irVersion = int64(f.v)
		case 2:
			if f.wire != 2 {
				return errProto
			}
			m.producer = string(f.b)
		case 7:
			if f.wire != 2 {
				return errProto
			}
			graph, hasGraph = f.b, true
		case 8:
			if f.wire != 2 {
				return errProto
			}
			var dom string
			var ver int64
			if err := pbWalk(f.b, func(g pbField) error {
				switch g.num {
				case 1:
					dom = string(g.b)
				case 2:
					ver = int64(g.v)
				}
				return nil
			}); err != nil {
				return err
			}
			if dom == "" || dom == "ai.onnx" {
				m.opset = ver
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !hasGraph || m.irVersion == 0 {
		return nil, errProto
	}
	inits := map[string]bool{}
	var ins, outs []protoIO
	err = pbWalk(graph, func(f pbField) error {
		switch {
		case f.num == 5 && f.wire == 2: // initializer: TensorProto, name = 8
			return pbWalk(f.b, func(g pbField) error {
				if g.num == 8 && g.wire == 2 {
					inits[string(g.b)] = true
				}
				return nil
			})
		case (f.num == 11 || f.num == 12) && f.wire == 2:
			io, err := parseValueInfo(f.b)
			if err != nil {
				return err
			}
			if f.num == 11 {
				ins = append(ins, io)
			} else {
				outs = append(outs, io)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, in := range ins {
		if !inits[in.name] {
			m.inputs = append(m.inputs, in)
		}
	}
	m.outputs = outs
	return m, nil
}

func parseValueInfo(b []byte) (protoIO, error) {
	var io protoIO
	err := pbWalk(b, func(f pbField) error {
		switch f.num {
		case 1:
			io.name = string(f.b)
		case 2: // TypeProto
			return pbWalk(f.b, func(t pbField) error {
				if t.num != 1 || t.wire != 2 { // tensor_type only
					return nil
				}
				return pbWalk(t.b, func(tt pbField) error {
					switch tt.num {
					case 1:
						io.elem = int64(tt.v)
					case 2: // TensorShapeProto
						return pbWalk(tt.b, func(s pbField) error {
							if s.num != 1 || s.wire != 2 {
								return nil
							}
							d, p := int64(-1), ""
							if err := pbWalk(s.b, func(dm pbField) error {
								switch dm.num {
								case 1:
									d = int64(dm.v)
								case 2:
									p = string(dm.b)
								}
								return nil
							}); err != nil {
								return err
							}
							io.dims = append(io.dims, d)
							io.dimParams = append(io.dimParams, p)
							return nil
						})
					}
					return nil
				})
			})
		}
		return nil
	})
	return io, err
}

// pbAppend appends f, encoded, to b.
func pbAppend(b []byte, f pbField) []byte {
	b = binary.AppendUvarint(b, uint64(f.num)<<3|uint64(f.wire))
	switch f.wire {
	case 0:
		b = binary.AppendUvarint(b, f.v)
	case 1:
		b = binary.LittleEndian.AppendUint64(b, f.v)
	case 2:
		b = binary.AppendUvarint(b, uint64(len(f.b)))
		b = append(b, f.b...)
	case 5:
		b = binary.LittleEndian.AppendUint32(b, uint32(f.v))
	}
	return b
}

// pbRewrite re-encodes msg with each field replaced by what fn returns for
// it: the field itself to keep it, a changed one, or keep=false to drop it.
func pbRewrite(msg []byte, fn func(f pbField) (g pbField, keep bool, err error)) ([]byte, error) {
	out := make([]byte, 0, len(msg))
	err := pbWalk(msg, func(f pbField) error {
		g, keep, err := fn(f)
		if keep {
			out = pbAppend(out, g)
		}
		return err
	})
	return out, err
}

// freeDimNames are the dim_param names freeImageDims gives the batch,
// height and width dims: shared by input and output, so ONNX Runtime knows
// they are equal.
var freeDimNames = [4]string{"N", "C", "H", "W"}

// freeImageDims returns a copy of the ModelProto data in which the graph
// inputs and outputs named in names have free batch, height and width
// dims (the channel dim is kept), and the graph's value_info (shape hints
// for inner tensors, which would pin the old size) is dropped. Everything
// else, weights included, is copied as it is. It is how a model exported
// at one fixed size (such as the ONNX Model Zoo's [1,3,224,224] style
// networks, which are fully convolutional) runs at any size.
func freeImageDims(data []byte, names ...string) ([]byte, error) {
	return setImageDims(data, [4]int64{-1, 0, -1, -1}, names...)
}

// setImageDims is freeImageDims with the new dims spelled out: dims[k] > 0
// fixes dim k of the named [N,C,H,W] tensors to that size, < 0 frees it
// (dim_param freeDimNames[k]), 0 keeps it as the file has it.
func setImageDims(data []byte, dims [4]int64, names ...string) ([]byte, error) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	shape := func(sh []byte) ([]byte, error) { // TensorShapeProto
		i := 0
		return pbRewrite(sh, func(f pbField) (pbField, bool, error) {
			if f.num != 1 || f.wire != 2 {
				return f, true, nil
			}
			k := i
			i++
			if k >= 4 || dims[k] == 0 {
				return f, true, nil
			}
			d, err := pbRewrite(f.b, func(g pbField) (pbField, bool, error) {
				return g, g.num != 1 && g.num != 2, nil // keep the denotation
			})
			if dims[k] > 0 {
				d = pbAppend(d, pbField{num: 1, wire: 0, v: uint64(dims[k])})
			} else {
				d = pbAppend(d, pbField{num: 2, wire: 2, b: []byte(freeDimNames[k])})
			}
			f.b = d
			return f, true, err
		})
	}
	// nest rewrites field num (length-delimited) of msg with fn.
	nest := func(msg []byte, num int, fn func([]byte) ([]byte, error)) ([]byte, error) {
		return pbRewrite(msg, func(f pbField) (pbField, bool, error) {
			if f.num != num || f.wire != 2 {
				return f, true, nil
			}
			b, err := fn(f.b)
			f.b = b
			return f, true, err
		})
	}
	valueInfo := func(vi []byte) ([]byte, error) { // ValueInfoProto
		name := ""
		if err := pbWalk(vi, func(f pbField) error {
			if f.num == 1 && f.wire == 2 {
				name = string(f.b)
			}
			return nil
		}); err != nil || !want[name] {
			return vi, err
		}
		// type (2) -> tensor_type (1) -> shape (2)
		return nest(vi, 2, func(tp []byte) ([]byte, error) {
			return nest(tp, 1, func(tt []byte) ([]byte, error) {
				return nest(tt, 2, shape)
			})
		})
	}
	found := false
	out, err := nest(data, 7, func(graph []byte) ([]byte, error) {
		found = true
		return pbRewrite(graph, func(f pbField) (pbField, bool, error) {
			switch {
			case f.num == 13: // value_info
				return f, false, nil
			case (f.num == 11 || f.num == 12) && f.wire == 2:
				b, err := valueInfo(f.b)
				f.b = b
				return f, true, err
			}
			return f, true, nil
		})
	})
	if err == nil && !found {
		err = errProto
	}
	return out, err
}

// protoNode is what the model rewrites read of a NodeProto.
type protoNode struct {
	op, domain string
	ins, outs  []string
	attrs      map[string]pbField // its attribute fields (AttributeProto) by name
	subgraph   bool               // an attribute holds a graph (If, Loop)
}

// parseNode reads the NodeProto b.
func parseNode(b []byte) (*protoNode, error) {
	nd := &protoNode{attrs: map[string]pbField{}}
	err := pbWalk(b, func(g pbField) error {
		if g.wire != 2 {
			return nil
		}
		switch g.num {
		case 1:
			nd.ins = append(nd.ins, string(g.b))
		case 2:
			nd.outs = append(nd.outs, string(g.b))
		case 4:
			nd.op = string(g.b)
		case 7:
			nd.domain = string(g.b)
		case 5:
			return pbWalk(g.b, func(a pbField) error {
				switch {
				case a.num == 1 && a.wire == 2:
					nd.attrs[string(a.b)] = g
				case a.num == 6 || a.num == 11: // g, graphs
					nd.subgraph = true
				}
				return nil
			})
		}
		return nil
	})
	return nd, err
}

// is reports whether nd is the ONNX operator op (default domain).
func (nd *protoNode) is(op string) bool {
	return nd.op == op && (nd.domain == "" || nd.domain == "ai.onnx")
}

// isAttr reports whether the AttributeProto a is named name.
func isAttr(a []byte, name string) bool {
	found := false
	pbWalk(a, func(f pbField) error {
		found = found || (f.num == 1 && f.wire == 2 && string(f.b) == name)
		return nil
	})
	return found
}

// attrField is field num of the NodeProto attribute field f (an
// AttributeProto), and whether it is there.
func attrField(f pbField, num int) (pbField, bool) {
	var v pbField
	found := false
	pbWalk(f.b, func(a pbField) error {
		if a.num == num {
			v, found = a, true
		}
		return nil
	})
	return v, found
}

// attrInt is an INT attribute's value (0 if absent).
func attrInt(f pbField) int64 {
	v, _ := attrField(f, 3)
	return int64(v.v)
}

// attrFloat is a FLOAT attribute's value, or def if absent.
func attrFloat(f pbField, def float32) float32 {
	if v, ok := attrField(f, 2); ok && v.wire == 5 {
		return math.Float32frombits(uint32(v.v))
	}
	return def
}

// attrBytes is a STRING attribute's value (nil if absent).
func attrBytes(f pbField) []byte {
	v, _ := attrField(f, 4)
	return v.b
}
