package stylize

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vidnst/vidnst/internal/onnxgen"
)

// FuzzModelRewrites feeds arbitrary bytes, starting from small networks of
// the shapes vidnst rewrites, to the ONNX parser and to every graph
// rewrite a user's model file can reach: none may panic, and a rewrite
// that succeeds must give a model the parser reads. Run longer with
// `go test ./stylize -run '^$' -fuzz FuzzModelRewrites -fuzztime 2m`.
func FuzzModelRewrites(f *testing.F) {
	dir := f.TempDir()
	for i, gen := range []func(string) error{
		halfNormModel,
		convNorm(convNormOpts{weight: 1}),
		convNorm(convNormOpts{weight: 0.5, twice: true, relu: true}),
		convNorm(convNormOpts{weight: 2, convPads: true, tapped: true}),
		convNorm(convNormOpts{weight: 1, padValue: true, epsilon: 1e-3}),
		func(p string) error { return halfNet(f).Write(p) },
		func(p string) error {
			return onnxgen.ImageGraph("id").Node("Identity", []string{"input1"}, []string{"output1"}).Write(p)
		},
	} {
		p := filepath.Join(dir, "m.onnx")
		if err := gen(p); err != nil {
			f.Fatalf("seed %d: %v", i, err)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f}) // a length past the end
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := parseModel(data); err != nil {
			return
		}
		check := func(what string, out []byte, err error) {
			if err != nil || out == nil {
				return
			}
			if _, err := parseModel(out); err != nil {
				t.Errorf("%s gave a model the parser refuses: %v", what, err)
			}
		}
		out, _, err := fp32Norms(data)
		check("fp32Norms", out, err)
		out, _, err = foldNorms(data, 2)
		check("foldNorms", out, err)
		out, _, err = scaleNorms(data, "input1", 0, 255)
		check("scaleNorms", out, err)
		out, err = halfIO(data, "input1", "output1")
		check("halfIO", out, err)
		out, err = setImageDims(data, [4]int64{2, 3, 8, 12}, "input1", "output1")
		check("setImageDims", out, err)
		out, err = freeImageDims(data, "input1", "output1")
		check("freeImageDims", out, err)
		for _, mend := range []string{"", "keep", "fold", "float32", "scale"} {
			out, _, err = mendNorms(data, mend, 2, DefaultConvention(), "input1")
			check("mendNorms "+mend, out, err)
		}
	})
}
