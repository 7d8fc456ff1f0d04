package stylize

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/vidnst/vidnst/internal/testmedia"
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
