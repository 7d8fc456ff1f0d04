package stylize

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	ort "github.com/yalue/onnxruntime_go"
)

// TensorInfo describes one model input or output.
type TensorInfo struct {
	Name string
	// Dims as ONNX Runtime reports them; -1 is a dynamic dimension.
	Dims []int64
	// DimNames holds the file's names for dynamic dims ("batch", "N", ...),
	// "" where a dim is fixed or unnamed. Same length as Dims.
	DimNames []string
	// Type is the element type: "float32", "float16", "uint8", ...
	Type string
}

// Shape formats the dims with dynamic ones by name or "?", e.g.
// "[batch, 3, height, width]" or "[?, 3, ?, ?]".
func (t TensorInfo) Shape() string {
	parts := make([]string, len(t.Dims))
	for i, d := range t.Dims {
		switch {
		case d >= 0:
			parts[i] = fmt.Sprint(d)
		case i < len(t.DimNames) && t.DimNames[i] != "":
			parts[i] = t.DimNames[i]
		default:
			parts[i] = "?"
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// ModelInfo is what Inspect learns about a model. It is plain Go data.
type ModelInfo struct {
	Path      string
	IRVersion int64
	Opset     int64
	Producer  string
	// Inputs and Outputs are all the model's inputs and outputs.
	Inputs, Outputs []TensorInfo
	// Input and Output are the ones vidnst uses (chosen by the sidecar, or
	// the only one, or "output1").
	Input, Output TensorInfo
	// Convention is the value convention in use (sidecar or default).
	Convention Convention
	// FP16 is the path of the model's fp16 variant, "" if none.
	FP16 string
}

// Describe writes the multi-line description `vidnst models info` prints.
func (m *ModelInfo) Describe(w io.Writer) error {
	_, err := io.WriteString(w, m.String())
	return err
}

// String is the description Describe writes (several lines, no trailing
// newline).
func (m *ModelInfo) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "model    %s\n", m.Path)
	fmt.Fprintf(&b, "format   ONNX IR %d, opset %d", m.IRVersion, m.Opset)
	if m.Producer != "" {
		fmt.Fprintf(&b, ", producer %q", m.Producer)
	}
	b.WriteString("\n")
	line := func(kind string, t TensorInfo, used bool) {
		mark := ""
		if used {
			mark = "  (used)"
		}
		fmt.Fprintf(&b, "%-8s %-10s %s %s%s\n", kind, t.Name, t.Type, t.Shape(), mark)
	}
	for _, t := range m.Inputs {
		line("input", t, len(m.Inputs) > 1 && t.Name == m.Input.Name)
	}
	for _, t := range m.Outputs {
		line("output", t, len(m.Outputs) > 1 && t.Name == m.Output.Name)
	}
	fmt.Fprintf(&b, "values   %s", m.Convention)
	if m.FP16 != "" {
		fmt.Fprintf(&b, "\nfp16     %s", m.FP16)
	}
	return b.String()
}

// Inspect loads the model at path (Init must have succeeded), checks that
// it is usable as a style network (one float32 [N,3,H,W] input, a float32
// [N,3,H,W] output) and reads its sidecar convention. Errors wrap ErrNotONNX
// (not an ONNX file), ErrNotImage (wrong shape/type, naming the actual one),
// ErrSidecar, ErrModel (ONNX Runtime refused it) or ErrORTLibrary; a missing
// file gives an error matching fs.ErrNotExist. Inspect keeps no C object.
func Inspect(path string) (*ModelInfo, error) {
	if err := requireInit(); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("stylize: %w", err)
	}
	pm, err := parseModel(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not an ONNX model file (%d bytes that do not parse as an ONNX ModelProto with a graph: another format, or truncated)", ErrNotONNX, path, len(data))
	}
	ins, outs, err := ortInfo(path)
	if err != nil {
		return nil, err
	}
	mi := &ModelInfo{Path: path, IRVersion: pm.irVersion, Opset: pm.opset, Producer: pm.producer}
	mi.Inputs = toInfos(ins, pm.inputs)
	mi.Outputs = toInfos(outs, pm.outputs)
	if mi.Convention, err = LoadConvention(path); err != nil {
		return nil, err
	}
	if p, ok := FP16Variant(path); ok {
		mi.FP16 = p
	}
	if err := mi.choose(); err != nil {
		return nil, err
	}
	return mi, nil
}

// ortInfo asks ONNX Runtime for the inputs and outputs, with a cheap
// session (one thread, no graph optimization).
func ortInfo(path string) (ins, outs []ort.InputOutputInfo, err error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: session options: %s", ErrModel, oneLine(err.Error()))
	}
	defer so.Destroy()
	_ = so.SetIntraOpNumThreads(1)
	_ = so.SetInterOpNumThreads(1)
	_ = so.SetGraphOptimizationLevel(ort.GraphOptimizationLevelDisableAll)
	ins, outs, err = ort.GetInputOutputInfoWithOptions(path, so)
	if err != nil {
		return nil, nil, loadError(path, err)
	}
	return ins, outs, nil
}

// loadError classifies an ONNX Runtime session-creation failure.
func loadError(path string, err error) error {
	msg := ortCore(oneLine(err.Error()))
	if strings.Contains(msg, "Protobuf parsing failed") || strings.Contains(msg, "INVALID_PROTOBUF") {
		return fmt.Errorf("%w: %s is not an ONNX model file (ONNX Runtime: protobuf parsing failed)", ErrNotONNX, path)
	}
	return fmt.Errorf("%w: onnx runtime cannot load %s: %s", ErrModel, path, msg)
}

func toInfos(ios []ort.InputOutputInfo, proto []protoIO) []TensorInfo {
	out := make([]TensorInfo, len(ios))
	for i, io := range ios {
		t := TensorInfo{Name: io.Name, Dims: append([]int64(nil), io.Dimensions...), Type: typeName(io)}
		t.DimNames = make([]string, len(t.Dims))
		for _, p := range proto {
			if p.name == io.Name && len(p.dimParams) == len(t.Dims) {
				for j := range t.Dims {
					if t.Dims[j] < 0 {
						t.DimNames[j] = p.dimParams[j]
					}
				}
			}
		}
		out[i] = t
	}
	return out
}

func typeName(io ort.InputOutputInfo) string {
	if io.OrtValueType != ort.ONNXTypeTensor {
		return strings.ToLower(strings.TrimPrefix(io.OrtValueType.String(), "ONNXType"))
	}
	switch io.DataType {
	case ort.TensorElementDataTypeFloat:
		return "float32"
	case ort.TensorElementDataTypeDouble:
		return "float64"
	case ort.TensorElementDataTypeFloat16:
		return "float16"
	case ort.TensorElementDataTypeBFloat16:
		return "bfloat16"
	}
	return strings.ToLower(strings.TrimPrefix(io.DataType.String(), "ONNX_TENSOR_ELEMENT_DATA_TYPE_"))
}

func names(ts []TensorInfo) string {
	n := make([]string, len(ts))
	for i, t := range ts {
		n[i] = t.Name
	}
	return strings.Join(n, ", ")
}

// choose picks Input and Output and checks they are image tensors.
func (m *ModelInfo) choose() error {
	c := m.Convention
	base := filepath.Base(m.Path)
	if len(m.Inputs) != 1 {
		return fmt.Errorf("%w: %s has %d inputs (%s); vidnst feeds exactly one image", ErrNotImage, base, len(m.Inputs), names(m.Inputs))
	}
	m.Input = m.Inputs[0]
	if c.Input != "" && c.Input != m.Input.Name {
		return fmt.Errorf("%w: %s: the model has no input %q (it has %s)", ErrSidecar, c.Sidecar, c.Input, m.Input.Name)
	}
	found := false
	switch {
	case c.Output != "":
		for _, o := range m.Outputs {
			if o.Name == c.Output {
				m.Output, found = o, true
			}
		}
		if !found {
			return fmt.Errorf("%w: %s: the model has no output %q (it has %s)", ErrSidecar, c.Sidecar, c.Output, names(m.Outputs))
		}
	case len(m.Outputs) == 1:
		m.Output, found = m.Outputs[0], true
	default:
		for _, o := range m.Outputs {
			if o.Name == "output1" {
				m.Output, found = o, true
			}
		}
		if !found {
			return fmt.Errorf("%w: %s has %d outputs (%s); name the image one in %s as {\"output\": NAME}", ErrNotImage, base, len(m.Outputs), names(m.Outputs), SidecarPath(m.Path))
		}
	}
	for _, x := range []struct {
		kind string
		t    TensorInfo
	}{{"input", m.Input}, {"output", m.Output}} {
		if err := checkImage(base, x.kind, x.t); err != nil {
			return err
		}
	}
	// Both fixed and different: not a same-size image-to-image network.
	for i := range 4 {
		a, b := m.Input.Dims[i], m.Output.Dims[i]
		if a > 0 && b > 0 && a != b {
			return fmt.Errorf("%w: %s: output %s %s does not match input %s %s", ErrNotImage, base, m.Output.Name, m.Output.Shape(), m.Input.Name, m.Input.Shape())
		}
	}
	return nil
}

func checkImage(base, kind string, t TensorInfo) error {
	want := "float32 [N, 3, H, W]"
	if t.Type != "float32" {
		return fmt.Errorf("%w: %s: %s %q is %s %s, want %s", ErrNotImage, base, kind, t.Name, t.Type, t.Shape(), want)
	}
	if len(t.Dims) != 4 {
		return fmt.Errorf("%w: %s: %s %q has shape %s (rank %d), want %s", ErrNotImage, base, kind, t.Name, t.Shape(), len(t.Dims), want)
	}
	if t.Dims[1] != 3 && t.Dims[1] != -1 {
		return fmt.Errorf("%w: %s: %s %q has shape %s (%d channels), want %s", ErrNotImage, base, kind, t.Name, t.Shape(), t.Dims[1], want)
	}
	return nil
}

// FP16Variant finds the float16 copy of a model: fp16/NAME-fp16.onnx beside
// modelPath (candy.onnx -> fp16/candy-fp16.onnx). ok is false when there is
// no such file.
func FP16Variant(modelPath string) (string, bool) {
	dir, file := filepath.Split(modelPath)
	ext := filepath.Ext(file)
	name := strings.TrimSuffix(file, ext)
	if strings.HasSuffix(name, "-fp16") {
		return "", false
	}
	p := filepath.Join(dir, "fp16", name+"-fp16"+ext)
	if st, err := os.Stat(p); err == nil && !st.IsDir() {
		return p, true
	}
	return "", false
}
