package stylize

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vidnst/vidnst/internal/onnxgen"
)

func TestInspectNotONNX(t *testing.T) {
	needORT(t)
	dir := t.TempDir()
	for name, content := range map[string]string{
		"text.onnx":  "hello, this is a README renamed to .onnx\nsecond line\n",
		"empty.onnx": "",
		"json.onnx":  `{"ir_version": 8, "graph": {}}`,
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Inspect(p)
		if !errors.Is(err, ErrNotONNX) || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := New(p, Options{Width: 2, Height: 2}); !errors.Is(err, ErrNotONNX) {
			t.Errorf("New %s: %v", name, err)
		}
	}
	if _, err := Inspect(filepath.Join(dir, "missing.onnx")); !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "stylize: ") {
		t.Errorf("missing: %v", err)
	}
}

func TestInspectNotImage(t *testing.T) {
	needORT(t)
	for _, tc := range []struct {
		name string
		gen  func(string) error
		want string // in the message
	}{
		{"rank2", onnxgen.WrongRank, "[N, 3] (rank 2)"},
		{"4ch", func(p string) error { return onnxgen.Channels(p, 4) }, "[N, 4, H, W] (4 channels)"},
		{"1ch", func(p string) error { return onnxgen.Channels(p, 1) }, "1 channels"},
		{"int64", func(p string) error { return onnxgen.Typed(p, onnxgen.Int64) }, "int64 [N, 3, H, W]"},
		{"double", func(p string) error { return onnxgen.Typed(p, onnxgen.Double) }, "float64"},
		{"two outputs", twoOutputs, "2 outputs"},
	} {
		p := model(t, tc.name, tc.gen)
		_, err := Inspect(p)
		if !errors.Is(err, ErrNotImage) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got %v, want ErrNotImage mentioning %q", tc.name, err, tc.want)
		}
	}
}

// twoOutputs has outputs "a" and "b" and no "output1".
func twoOutputs(p string) error {
	d := onnxgen.ImageDims()
	return onnxgen.NewGraph("two").
		Input("input1", onnxgen.Float, d...).
		Output("a", onnxgen.Float, d...).Output("b", onnxgen.Float, d...).
		Node("Identity", []string{"input1"}, []string{"a"}).
		Node("Identity", []string{"input1"}, []string{"b"}).
		Write(p)
}

func TestTwoOutputsWithSidecar(t *testing.T) {
	needORT(t)
	p := model(t, "two", twoOutputs)
	if err := os.WriteFile(SidecarPath(p), []byte(`{"output": "b"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	mi, err := Inspect(p)
	if err != nil || mi.Output.Name != "b" {
		t.Fatalf("%v %v", mi, err)
	}
	if !strings.Contains(mi.String(), "(used)") {
		t.Errorf("String does not mark the used output:\n%s", mi)
	}
	s := newSession(t, p, Options{Width: 2, Height: 2})
	in := frames(1, 2, 2, 9)
	runCheck(t, s, in, 0, func(i, c, j int) float32 { return in[i][c*4+j] })
}

func TestInspectDescribe(t *testing.T) {
	needORT(t)
	p := model(t, "identity", onnxgen.Identity)
	mi, err := Inspect(p)
	if err != nil {
		t.Fatal(err)
	}
	if mi.Input.Name != "input1" || mi.Output.Name != "output1" || mi.Input.Type != "float32" {
		t.Fatalf("%+v", mi)
	}
	if got := mi.Input.Shape(); got != "[N, 3, H, W]" {
		t.Errorf("Shape %q", got)
	}
	if got := (TensorInfo{Dims: []int64{-1, 3, -1, -1}}).Shape(); got != "[?, 3, ?, ?]" {
		t.Errorf("unnamed Shape %q", got)
	}
	var b strings.Builder
	if err := mi.Describe(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"input1", "output1", "float32 [N, 3, H, W]", "RGB, 0..255, NCHW (default)", "opset 17"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("Describe lacks %q:\n%s", want, b.String())
		}
	}
	if err := os.WriteFile(SidecarPath(p), []byte(`{"range": "-1-1", "channels": "BGR"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	mi, err = Inspect(p)
	if err != nil {
		t.Fatal(err)
	}
	if s := mi.String(); !strings.Contains(s, "BGR, -1..1, NCHW (from "+SidecarPath(p)+")") {
		t.Errorf("sidecar convention not shown:\n%s", s)
	}
}

func TestFP16Variant(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "candy.onnx")
	if _, ok := FP16Variant(p); ok {
		t.Fatal("found a variant in an empty dir")
	}
	if err := os.MkdirAll(filepath.Join(dir, "fp16"), 0o755); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, "fp16", "candy-fp16.onnx")
	if err := os.WriteFile(want, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, ok := FP16Variant(p); !ok || got != want {
		t.Fatalf("FP16Variant = %q, %v", got, ok)
	}
	if _, ok := FP16Variant(want); ok {
		t.Fatal("an fp16 model has no fp16 variant")
	}
}

func TestParseModelDimNames(t *testing.T) {
	p := filepath.Join(t.TempDir(), "m.onnx")
	if err := onnxgen.Spatial(p); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := parseModel(data)
	if err != nil {
		t.Fatal(err)
	}
	// The initializers W and B are not inputs.
	if len(pm.inputs) != 1 || pm.inputs[0].name != "input1" || strings.Join(pm.inputs[0].dimParams, ",") != "N,,H,W" || pm.opset != 17 {
		t.Fatalf("%+v", pm)
	}
	for _, bad := range [][]byte{[]byte("hello world"), {}, {0x08}, {0x0a, 0x05, 1}} {
		if _, err := parseModel(bad); err == nil {
			t.Errorf("parseModel(%q) accepted", bad)
		}
	}
}

func TestInspectTruncated(t *testing.T) {
	needORT(t)
	data, err := os.ReadFile(sharedModel(t, "candy.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "cut.onnx")
	if err := os.WriteFile(p, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Inspect(p); !errors.Is(err, ErrNotONNX) {
		t.Fatalf("truncated model: %v", err)
	}
}

// An fp16 variant without a sidecar of its own uses the fp32 model's: the
// same network, the same value convention (--fp16 fed a 0..1 model 0..255).
func TestFP16VariantSharesSidecar(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "plus.onnx")
	os.Mkdir(filepath.Join(dir, "fp16"), 0o755)
	q := filepath.Join(dir, "fp16", "plus-fp16.onnx")
	os.WriteFile(SidecarPath(p), []byte(`{"range": "0-1"}`), 0o644)
	for _, m := range []string{p, q} {
		c, err := LoadConvention(m)
		if err != nil || c.Range != "0-1" || c.Sidecar != SidecarPath(p) {
			t.Errorf("%s: %+v %v", filepath.Base(m), c, err)
		}
	}
	// Its own sidecar wins.
	os.WriteFile(SidecarPath(q), []byte(`{"range": "-1-1"}`), 0o644)
	if c, err := LoadConvention(q); err != nil || c.Range != "-1-1" {
		t.Errorf("own sidecar: %+v %v", c, err)
	}
}
