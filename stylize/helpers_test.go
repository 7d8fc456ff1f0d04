package stylize

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/vidnst/vidnst/internal/testmedia"
	ort "github.com/yalue/onnxruntime_go"
)

// initErr is the result of Init in TestMain; tests that need ONNX Runtime
// skip (loudly) when it failed, unless VIDNST_REQUIRE_ORT=1 makes it fatal.
var initErr error

func TestMain(m *testing.M) {
	if os.Getenv("VIDNST_STYLIZE_INIT_HELPER") != "" {
		// Child process of TestInitErrorMessage: a fresh process, so Init
		// really tries to load.
		err := Init(os.Getenv("VIDNST_STYLIZE_INIT_HELPER"))
		fmt.Printf("%v\n", err)
		os.Exit(0)
	}
	initErr = Init("")
	code := m.Run()
	Shutdown()
	os.Exit(code)
}

func needORT(t testing.TB) {
	t.Helper()
	if initErr == nil {
		return
	}
	if os.Getenv("VIDNST_REQUIRE_ORT") == "1" {
		t.Fatalf("ONNX Runtime is required: %v", initErr)
	}
	t.Skipf("SKIPPED: ONNX Runtime library not loadable (run scripts/setup.sh or set %s): %v", EnvLibrary, initErr)
}

// sharedModel returns the path of a shared model (e.g. "candy.onnx"),
// looked up in $VIDNST_MODEL_DIR then <repo>/../shared/models, and skips the
// test loudly when it is absent.
func sharedModel(t testing.TB, name string) string {
	t.Helper()
	var dirs []string
	if d := os.Getenv("VIDNST_MODEL_DIR"); d != "" {
		dirs = append(dirs, d)
	}
	dirs = append(dirs, filepath.Join(testmedia.RepoRoot(t), "..", "shared", "models"))
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skipf("SKIPPED: shared model %s not found in %v (set VIDNST_MODEL_DIR)", name, dirs)
	return ""
}

// frames makes n planar RGB frames of w x h with integer values 0..255
// (exact under the affine test models).
func frames(n, w, h int, seed uint64) [][]float32 {
	r := rand.New(rand.NewPCG(seed, 7))
	fs := make([][]float32, n)
	for i := range fs {
		fs[i] = make([]float32, 3*w*h)
		for j := range fs[i] {
			fs[i][j] = float32(r.IntN(256))
		}
	}
	return fs
}

func zeros(n, w, h int) [][]float32 {
	fs := make([][]float32, n)
	for i := range fs {
		fs[i] = make([]float32, 3*w*h)
	}
	return fs
}

// model writes a tiny model with gen into a temp dir and returns its path.
func model(t testing.TB, name string, gen func(string) error) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name+".onnx")
	if err := gen(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func newSession(t testing.TB, path string, o Options) *Session {
	t.Helper()
	s, err := New(path, o)
	if err != nil {
		t.Fatalf("New(%s, %+v): %v", filepath.Base(path), o, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// carFrame is the first frame of the shared car clip at w x h, planar RGB
// 0..255, or a skip where the shared videos are absent.
func carFrame(t *testing.T, w, h int) []float32 {
	t.Helper()
	clip := testmedia.Shared(t, filepath.Join("videos", "car-detection.mp4"))
	rgb := testmedia.FramesRGB(t, clip, w, h, 1)
	if len(rgb) != 1 {
		t.Fatalf("%d frames decoded from %s", len(rgb), clip)
	}
	f := make([]float32, 3*w*h)
	for i := range w * h {
		for c := range 3 {
			f[c*w*h+i] = float32(rgb[0][3*i+c])
		}
	}
	return f
}

// probeSession is a CPU session of the ModelProto data (image dims freed)
// whose outputs are its tensors names, as float32 (through a Cast each
// where cast: for float16 tensors).
func probeSession(t *testing.T, data []byte, names []string, cast bool) *ort.DynamicAdvancedSession {
	t.Helper()
	outs := names
	if cast {
		outs = nil
		for _, n := range names {
			outs = append(outs, n+"__probe")
		}
	}
	graph, err := modelGraph(data)
	if err != nil {
		t.Fatal(err)
	}
	g := append([]byte(nil), graph...)
	for i, out := range outs {
		if cast {
			g = pbAppend(g, pbField{num: 1, wire: 2, b: castNode(names[i], out, 1)})
		}
		tensorType := pbAppend(nil, pbField{num: 1, wire: 0, v: 1}) // float
		typ := pbAppend(nil, pbField{num: 1, wire: 2, b: tensorType})
		vi := pbAppend(nil, pbField{num: 1, wire: 2, b: []byte(out)})
		g = pbAppend(g, pbField{num: 12, wire: 2, b: pbAppend(vi, pbField{num: 2, wire: 2, b: typ})})
	}
	data, err = withGraph(data, g)
	if err == nil {
		data, err = freeImageDims(data, "input1", "output1")
	}
	if err != nil {
		t.Fatal(err)
	}
	s, err := ort.NewDynamicAdvancedSessionWithONNXData(data, []string{"input1"}, outs, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Destroy() })
	return s
}
