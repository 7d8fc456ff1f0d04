// Package onnxgen writes tiny ONNX models from Go, so that tests anywhere in
// the project can build a model without shared/ data or Python.
//
// It hand-encodes the few protobuf messages an ONNX file needs (ModelProto,
// GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto) at
// opset 17, IR version 8. It has no dependencies and touches no C library;
// running the models is the stylize package's business.
//
// The ready-made models (Identity, Affine, PerChannel, Spatial, WrongRank,
// Channels, Typed) all follow the shared style models' interface unless
// their doc says otherwise: input "input1" and output "output1", float32
// [N,3,H,W] with dynamic dims named "N", "H", "W".
package onnxgen

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"

	"github.com/vidnst/vidnst/internal/half"
)

// Element types (TensorProto.DataType values).
const (
	Float   int32 = 1
	Uint8   int32 = 2
	Int64   int32 = 7
	Float16 int32 = 10
	Double  int32 = 11
)

// Opset and IRVersion are what every model written here declares.
const (
	Opset     = 17
	IRVersion = 8
)

// Dim is one dimension of a graph input or output: a fixed size (Value > 0)
// or a named free one (Param != "").
type Dim struct {
	Value int64
	Param string
}

// D is a fixed dimension; P a named dynamic one.
func D(v int64) Dim     { return Dim{Value: v} }
func P(name string) Dim { return Dim{Param: name} }

// ImageDims are the dims of the shared models' input and output:
// [N, 3, H, W] with N, H and W free.
func ImageDims() []Dim { return []Dim{P("N"), D(3), P("H"), P("W")} }

// Attr is a node attribute; build it with AttrInt, AttrInts, AttrFloat,
// AttrString.
type Attr struct{ b []byte }

// Graph collects the parts of a one-graph model. The zero value is not
// usable; call NewGraph. A Graph is plain Go memory, owned by its creator.
type Graph struct {
	name                  string
	nodes, inits, ins, os [][]byte
	infos                 [][]byte // value_info: shapes of inner tensors
	nNodes                int
}

// NewGraph starts an empty graph.
func NewGraph(name string) *Graph { return &Graph{name: name} }

// ImageGraph starts a graph with the style networks' interface: float
// input1 and output1 of ImageDims.
func ImageGraph(name string) *Graph {
	return NewGraph(name).Input("input1", Float, ImageDims()...).Output("output1", Float, ImageDims()...)
}

// Input declares a graph input of element type elem (Float, ...) and dims.
func (g *Graph) Input(name string, elem int32, dims ...Dim) *Graph {
	g.ins = append(g.ins, valueInfo(name, elem, dims))
	return g
}

// Output declares a graph output.
func (g *Graph) Output(name string, elem int32, dims ...Dim) *Graph {
	g.os = append(g.os, valueInfo(name, elem, dims))
	return g
}

// ValueInfo declares the type and shape of an inner tensor (a node's
// output), as exporters record them.
func (g *Graph) ValueInfo(name string, elem int32, dims ...Dim) *Graph {
	g.infos = append(g.infos, valueInfo(name, elem, dims))
	return g
}

// Node appends a node (default ai.onnx domain) computing outputs from inputs.
func (g *Graph) Node(op string, inputs, outputs []string, attrs ...Attr) *Graph {
	var b []byte
	for _, s := range inputs {
		b = appendString(b, 1, s)
	}
	for _, s := range outputs {
		b = appendString(b, 2, s)
	}
	g.nNodes++
	b = appendString(b, 3, fmt.Sprintf("%s_%d", op, g.nNodes))
	b = appendString(b, 4, op)
	for _, a := range attrs {
		b = appendBytes(b, 5, a.b)
	}
	g.nodes = append(g.nodes, b)
	return g
}

// FloatInit adds a float32 constant (initializer) of the given dims; len(data)
// must be the product of dims.
func (g *Graph) FloatInit(name string, dims []int64, data []float32) *Graph {
	g.inits = append(g.inits, floatTensor(name, dims, data))
	return g
}

// ExternalFloatInit adds a float32 constant stored as external data: its
// values are read from the file location (relative to the model's folder,
// little-endian float32s from offset 0), as exporters store large weights.
// The caller writes that file; n is its number of values.
func (g *Graph) ExternalFloatInit(name string, dims []int64, location string, n int) *Graph {
	var b []byte
	for _, d := range dims {
		b = appendVarintField(b, 1, uint64(d))
	}
	b = appendVarintField(b, 2, uint64(Float))
	b = appendString(b, 8, name)
	for _, kv := range [][2]string{{"location", location}, {"offset", "0"}, {"length", fmt.Sprint(4 * n)}} {
		b = appendBytes(b, 13, appendString(appendString(nil, 1, kv[0]), 2, kv[1])) // external_data
	}
	b = appendVarintField(b, 14, 1) // data_location: EXTERNAL
	g.inits = append(g.inits, b)
	return g
}

// Float16Init adds a float16 constant; the values are rounded to float16
// (to nearest, ties to even; normal range only: tests use small values).
func (g *Graph) Float16Init(name string, dims []int64, data []float32) *Graph {
	raw := make([]byte, 2*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint16(raw[2*i:], toHalf(v))
	}
	g.inits = append(g.inits, tensorProto(name, dims, Float16, raw))
	return g
}

// toHalf rounds v to IEEE 754 binary16 bits. It takes zero and the normal
// float16 range only (|v| in 2^-14..65504) and panics on anything else: a
// test fixture outside it is a mistake.
func toHalf(v float32) uint16 {
	if a := math.Abs(float64(v)); a != 0 && !(a >= 1.0/16384 && a <= 65504) {
		panic(fmt.Sprintf("onnxgen: %v is outside float16's normal range", v))
	}
	return half.FromFloat32(v)
}

// Int64Init adds an int64 constant.
func (g *Graph) Int64Init(name string, dims []int64, data []int64) *Graph {
	raw := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	g.inits = append(g.inits, tensorProto(name, dims, Int64, raw))
	return g
}

// Bytes encodes the whole ModelProto.
func (g *Graph) Bytes() []byte {
	var gb []byte
	for _, n := range g.nodes {
		gb = appendBytes(gb, 1, n)
	}
	gb = appendString(gb, 2, g.name)
	for _, t := range g.inits {
		gb = appendBytes(gb, 5, t)
	}
	for _, v := range g.ins {
		gb = appendBytes(gb, 11, v)
	}
	for _, v := range g.os {
		gb = appendBytes(gb, 12, v)
	}
	for _, v := range g.infos {
		gb = appendBytes(gb, 13, v)
	}
	var m []byte
	m = appendVarintField(m, 1, IRVersion)
	m = appendString(m, 2, "vidnst-onnxgen")
	m = appendString(m, 3, "1")
	m = appendBytes(m, 7, gb)
	var opset []byte
	opset = appendString(opset, 1, "")
	opset = appendVarintField(opset, 2, Opset)
	m = appendBytes(m, 8, opset)
	return m
}

// Write writes the model to path (mode 0644), replacing any file there.
func (g *Graph) Write(path string) error {
	if err := os.WriteFile(path, g.Bytes(), 0o644); err != nil {
		return fmt.Errorf("onnxgen: %w", err)
	}
	return nil
}

// AttrInt is an INT attribute.
func AttrInt(name string, v int64) Attr {
	var b []byte
	b = appendString(b, 1, name)
	b = appendVarintField(b, 3, uint64(v))
	b = appendVarintField(b, 20, 2)
	return Attr{b}
}

// AttrFloat is a FLOAT attribute.
func AttrFloat(name string, v float32) Attr {
	var b []byte
	b = appendString(b, 1, name)
	b = appendTag(b, 2, 5)
	b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	b = appendVarintField(b, 20, 1)
	return Attr{b}
}

// AttrInts is an INTS attribute.
func AttrInts(name string, v ...int64) Attr {
	var b []byte
	b = appendString(b, 1, name)
	for _, x := range v {
		b = appendVarintField(b, 8, uint64(x))
	}
	b = appendVarintField(b, 20, 7)
	return Attr{b}
}

// AttrString is a STRING attribute.
func AttrString(name, v string) Attr {
	var b []byte
	b = appendString(b, 1, name)
	b = appendString(b, 4, v)
	b = appendVarintField(b, 20, 3)
	return Attr{b}
}

// ---- ready-made models ----

// Identity writes input1 [N,3,H,W] float32 -> output1 = input1.
func Identity(path string) error {
	return IdentityDims(path, ImageDims()...)
}

// IdentityDims writes an Identity model whose input and output have the
// given dims (float32), e.g. fixed sizes D(1), D(3), D(8), D(8).
func IdentityDims(path string, dims ...Dim) error {
	return Typed(path, Float, dims...)
}

// Typed writes an Identity model input1 -> output1 with element type elem
// and the given dims (ImageDims when none): for "not float" error tests.
func Typed(path string, elem int32, dims ...Dim) error {
	if len(dims) == 0 {
		dims = ImageDims()
	}
	return NewGraph("identity").
		Input("input1", elem, dims...).
		Output("output1", elem, dims...).
		Node("Identity", []string{"input1"}, []string{"output1"}).
		Write(path)
}

// Affine writes output1 = input1*scale + bias (every channel alike). Affine(p,
// -1, 255) is the invert model.
func Affine(path string, scale, bias float32) error {
	return PerChannel(path, [3]float32{scale, scale, scale}, [3]float32{bias, bias, bias})
}

// Invert writes output1 = 255 - input1.
func Invert(path string) error { return Affine(path, -1, 255) }

// PerChannel writes output1[:,c] = input1[:,c]*scale[c] + bias[c], which
// makes the model's channel order visible to a test.
func PerChannel(path string, scale, bias [3]float32) error {
	return ImageGraph("affine").
		FloatInit("scale", []int64{1, 3, 1, 1}, scale[:]).
		FloatInit("bias", []int64{1, 3, 1, 1}, bias[:]).
		Node("Mul", []string{"input1", "scale"}, []string{"scaled"}).
		Node("Add", []string{"scaled", "bias"}, []string{"output1"}).
		Write(path)
}

// SpatialKernel is the Conv weight Spatial uses, indexed
// [out channel][in channel][ky][kx]: each output channel is a lopsided blur
// of its own input channel plus a little of the next channel, so transposed,
// flipped, shifted or channel-swapped pixels all change the result.
var SpatialKernel = func() (k [3][3][3][3]float32) {
	own := [3][3]float32{{0, 0.125, 0}, {0.0625, 0.5, 0.25}, {0, 0, 0.03125}}
	for o := 0; o < 3; o++ {
		k[o][o] = own
		k[o][(o+1)%3][1][1] = 0.1 * float32(o+1)
	}
	return k
}()

// SpatialBias is the Conv bias Spatial uses, per output channel.
var SpatialBias = [3]float32{1, 2, 3}

// Spatial writes output1 = Conv(input1, SpatialKernel, SpatialBias) with a
// 3x3 kernel, stride 1, zero pads 1 (same size out). SpatialRef computes the
// expected result.
func Spatial(path string) error {
	w := make([]float32, 0, 81)
	for o := range SpatialKernel {
		for i := range SpatialKernel[o] {
			for y := range SpatialKernel[o][i] {
				w = append(w, SpatialKernel[o][i][y][:]...)
			}
		}
	}
	return ImageGraph("spatial").
		FloatInit("W", []int64{3, 3, 3, 3}, w).
		FloatInit("B", []int64{3}, SpatialBias[:]).
		Node("Conv", []string{"input1", "W", "B"}, []string{"output1"},
			AttrInts("kernel_shape", 3, 3), AttrInts("pads", 1, 1, 1, 1), AttrInts("strides", 1, 1)).
		Write(path)
}

// Reflect writes output1 = AveragePool(Pad(input1, pad, reflect)), a
// (2*pad+1)-square mean, stride 1: same size out, as the style networks'
// reflection-padded convolutions. Like them it cannot run on a frame with
// a side of pad pixels or fewer (ONNX Runtime refuses the Pad).
func Reflect(path string, pad int64) error {
	k := 2*pad + 1
	return ImageGraph("reflect").
		Int64Init("pads", []int64{8}, []int64{0, 0, pad, pad, 0, 0, pad, pad}).
		Node("Pad", []string{"input1", "pads"}, []string{"padded"}, AttrString("mode", "reflect")).
		Node("AveragePool", []string{"padded"}, []string{"output1"}, AttrInts("kernel_shape", k, k), AttrInts("strides", 1, 1)).
		Write(path)
}

// SpatialRef computes what Spatial's model gives for one planar RGB image
// in (3*w*h, CHW) in float64, returned as float32.
func SpatialRef(in []float32, w, h int) []float32 {
	n := w * h
	out := make([]float32, 3*n)
	for o := 0; o < 3; o++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				s := float64(SpatialBias[o])
				for i := 0; i < 3; i++ {
					for ky := 0; ky < 3; ky++ {
						for kx := 0; kx < 3; kx++ {
							yy, xx := y+ky-1, x+kx-1
							if yy < 0 || yy >= h || xx < 0 || xx >= w {
								continue
							}
							s += float64(SpatialKernel[o][i][ky][kx]) * float64(in[i*n+yy*w+xx])
						}
					}
				}
				out[o*n+y*w+x] = float32(s)
			}
		}
	}
	return out
}

// WrongRank writes an identity model whose input and output are rank 2,
// [N, 3]: not image-shaped.
func WrongRank(path string) error {
	return IdentityDims(path, P("N"), D(3))
}

// Channels writes an identity model with c channels, [N, c, H, W].
func Channels(path string, c int64) error {
	return IdentityDims(path, P("N"), D(c), P("H"), P("W"))
}

// ---- protobuf encoding ----

func valueInfo(name string, elem int32, dims []Dim) []byte {
	var shape []byte
	for _, d := range dims {
		var db []byte
		if d.Param != "" {
			db = appendString(db, 2, d.Param)
		} else {
			db = appendVarintField(db, 1, uint64(d.Value))
		}
		shape = appendBytes(shape, 1, db)
	}
	var tt []byte
	tt = appendVarintField(tt, 1, uint64(elem))
	tt = appendBytes(tt, 2, shape)
	var typ []byte
	typ = appendBytes(typ, 1, tt)
	var vi []byte
	vi = appendString(vi, 1, name)
	vi = appendBytes(vi, 2, typ)
	return vi
}

func floatTensor(name string, dims []int64, data []float32) []byte {
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return tensorProto(name, dims, Float, raw)
}

// tensorProto encodes a TensorProto: dims (1), data_type (2), name (8) and
// little-endian raw_data (9).
func tensorProto(name string, dims []int64, typ int32, raw []byte) []byte {
	var b []byte
	for _, d := range dims {
		b = appendVarintField(b, 1, uint64(d))
	}
	b = appendVarintField(b, 2, uint64(typ))
	b = appendString(b, 8, name)
	return appendBytes(b, 9, raw)
}

func appendTag(b []byte, field, wire int) []byte {
	return binary.AppendUvarint(b, uint64(field)<<3|uint64(wire))
}

func appendVarintField(b []byte, field int, v uint64) []byte {
	b = appendTag(b, field, 0)
	return binary.AppendUvarint(b, v)
}

func appendBytes(b []byte, field int, v []byte) []byte {
	b = appendTag(b, field, 2)
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

func appendString(b []byte, field int, s string) []byte {
	return appendBytes(b, field, []byte(s))
}
