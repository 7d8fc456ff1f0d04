package stylize

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vidnst/vidnst/internal/onnxgen"
)

func TestResolveLibrary(t *testing.T) {
	if p, tried := ResolveLibrary("/x/libonnxruntime.so"); p != "/x/libonnxruntime.so" || len(tried) != 1 {
		t.Errorf("flag: %q %v", p, tried)
	}
	t.Setenv(EnvLibrary, "/env/lib.so")
	if p, _ := ResolveLibrary(""); p != "/env/lib.so" {
		t.Errorf("env: %q", p)
	}
	if p, _ := ResolveLibrary("/flag.so"); p != "/flag.so" {
		t.Errorf("flag over env: %q", p)
	}
	t.Setenv(EnvLibrary, "")
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv("HOME", t.TempDir())
	p, tried := ResolveLibrary("")
	if p != SystemLib || len(tried) < 2 || tried[0] != filepath.Join(cache, "vidnst", "lib", LibName) || tried[len(tried)-1] != SystemLib {
		t.Errorf("nothing installed: %q %v", p, tried)
	}
	def := filepath.Join(cache, "vidnst", "lib", LibName)
	if err := os.MkdirAll(filepath.Dir(def), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(def, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if p, _ := ResolveLibrary(""); p != def {
		t.Errorf("default: %q, want %q", p, def)
	}
	// A bare name: the file of that name in the working folder if there
	// is one (the loader looked only in its library path), else the name.
	t.Chdir(filepath.Dir(def))
	if p, _ := ResolveLibrary(LibName); p != def {
		t.Errorf("bare name of a file here: %q, want %q", p, def)
	}
	t.Setenv(EnvLibrary, LibName)
	if p, _ := ResolveLibrary(""); p != def {
		t.Errorf("bare name in $%s: %q, want %q", EnvLibrary, p, def)
	}
	if p, _ := ResolveLibrary("libnothere.so"); p != "libnothere.so" {
		t.Errorf("bare name of no file: %q", p)
	}
}

// Init's failure message, in a fresh process (Init is process-wide).
func TestInitErrorMessage(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "nope", "libonnxruntime.so.1")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "VIDNST_STYLIZE_INIT_HELPER="+bad)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	msg := strings.TrimSpace(string(out))
	for _, want := range []string{"stylize: ", bad, "--ort-lib", "setup.sh"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q: %s", want, msg)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("not one line: %s", msg)
	}
}

// A library that loads but is not ONNX Runtime is named as such (the
// message ended in a bare `":;`).
func TestInitNotORT(t *testing.T) {
	var lib string
	for _, p := range []string{"/lib/x86_64-linux-gnu/libz.so.1", "/usr/lib/x86_64-linux-gnu/libz.so.1", "/lib/aarch64-linux-gnu/libz.so.1"} {
		if _, err := os.Stat(p); err == nil {
			lib = p
			break
		}
	}
	if lib == "" {
		t.Skip("SKIPPED: no libz.so.1 to load as a non-ONNX-Runtime library")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "VIDNST_STYLIZE_INIT_HELPER="+lib)
	out, err := cmd.CombinedOutput()
	if msg := strings.TrimSpace(string(out)); err != nil || !strings.Contains(msg, "is not an ONNX Runtime library") || strings.Contains(msg, `":;`) {
		t.Fatalf("%v: %s", err, out)
	}
}

func TestInitIdempotent(t *testing.T) {
	needORT(t)
	if err := Init(""); err != nil {
		t.Fatal(err)
	}
	if err := Init("/does/not/matter.so"); err != nil {
		t.Fatal("second Init with another path:", err)
	}
	if Loaded() == "" || Version() == "" {
		t.Fatalf("Loaded %q Version %q", Loaded(), Version())
	}
	t.Logf("ONNX Runtime %s from %s", Version(), Loaded())
}

// This machine has no GPU (and the default library is the CPU build): cuda
// must fail with a one-line ErrNoCUDA saying what is missing, and auto must
// fall back to the CPU. On a machine with CUDA the first part is skipped.
func TestCUDAUnavailable(t *testing.T) {
	needORT(t)
	p := model(t, "identity", onnxgen.Identity)
	s, err := New(p, Options{Width: 4, Height: 4, Device: "cuda"})
	if err == nil {
		s.Close()
		t.Skip("SKIPPED: CUDA works here; the no-CUDA error path is not testable on this machine")
	}
	if !errors.Is(err, ErrNoCUDA) {
		t.Fatalf("cuda: %v, want ErrNoCUDA", err)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "stylize: ") || !strings.Contains(msg, "cuda:0") {
		t.Errorf("message: %s", msg)
	}
	known := []string{"the CUDA provider library is missing", "the CUDA runtime is missing", "no GPU"}
	ok := false
	for _, k := range known {
		ok = ok || strings.Contains(msg, k)
	}
	if !ok {
		t.Errorf("message does not say what is missing: %s", msg)
	}
	t.Logf("cuda error: %s", msg)
	if _, err := New(p, Options{Width: 4, Height: 4, Device: "cuda:3"}); !errors.Is(err, ErrNoCUDA) || !strings.Contains(err.Error(), "cuda:3") {
		t.Errorf("cuda:3: %v", err)
	}

	a := newSession(t, p, Options{Width: 4, Height: 4, Device: "auto"})
	if a.Device() != "cpu" || !errors.Is(a.Fallback(), ErrNoCUDA) {
		t.Fatalf("auto: device %q fallback %v", a.Device(), a.Fallback())
	}
	in := frames(1, 4, 4, 1)
	runCheck(t, a, in, 0, func(i, c, j int) float32 { return in[i][c*16+j] })
}

func TestCUDAReason(t *testing.T) {
	for msg, want := range map[string]string{
		"Failed to load library libonnxruntime_providers_cuda.so with error: libcublasLt.so.12: cannot open shared object file": "the CUDA runtime is missing",
		"Failed to load library /x/libonnxruntime_providers_shared.so with error: cannot open shared object file":               "the CUDA provider library is missing",
		"CUDA execution provider is not enabled in this build.":                                                                 "the CUDA provider library is missing",
		"CUDA failure 100: no CUDA-capable device is detected ; GPU=0 ; hostname=x":                                             "no GPU",
		"CUDA failure 101: invalid device ordinal ; GPU=3":                                                                      "no GPU with that index",
		"CUDA failure 35: CUDA driver version is insufficient for CUDA runtime version":                                         "the NVIDIA driver is too old",
		"CUDA failure 2: out of memory ; GPU=0":                                                                                 "the GPU is out of memory",
		"Failed to allocate memory for requested buffer of size 2123366400":                                                     "the GPU is out of memory",
		"CUDNN failure 4: CUDNN_STATUS_ALLOC_FAILED":                                                                            "the GPU is out of memory",
		"something else entirely": "CUDA could not be set up",
	} {
		if got, _ := cudaReason(msg); !strings.HasPrefix(got, want) {
			t.Errorf("%q -> %q, want %q", msg, got, want)
		}
	}
	e := cudaError(device{cuda: true, id: 1}, errors.New("/src/x.cc:12 fn [ONNXRuntimeError] : 1 : FAIL : CUDA failure 100: no CUDA-capable device is detected\n"))
	if !errors.Is(e, ErrNoCUDA) || strings.Contains(e.Error(), "\n") || strings.Contains(e.Error(), "x.cc") || !strings.Contains(e.Error(), "cuda:1: no GPU") {
		t.Errorf("%v", e)
	}
}

// TestRunErrorGPUMemory: a run that fails for GPU memory on CUDA says so
// with the size, batch and runs at once and what to lower, in one line;
// the same text on the CPU is not read as a GPU's.
func TestRunErrorGPUMemory(t *testing.T) {
	oom := errors.New("/src/bfc_arena.cc:376 AllocateRawInternal [ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : Failed to allocate memory for requested buffer of size 2123366400\n")
	s := &Session{device: device{cuda: true}, w: 1920, h: 1080, batch: 4, parallel: 2, info: &ModelInfo{Path: "candy-fp16.onnx"}}
	e := s.runError(oom)
	if !errors.Is(e, ErrModel) || strings.Contains(e.Error(), "\n") || !strings.Contains(e.Error(), "ran out of GPU memory at 1920x1080, batch 4, 2 at once; try a lower --batch, or VIDNST_PARALLEL=1, or a smaller size (--max-side)") {
		t.Errorf("cuda: %v", e)
	}
	// One frame, one run: only the size is left to lower; and a model
	// with freed dims is still told it ran out of memory.
	s.batch, s.parallel, s.freed = 1, 1, "1x3x224x224"
	if e := s.runError(oom); !errors.Is(e, ErrModel) || !strings.Contains(e.Error(), "1 at once; try a smaller size (--max-side) (ONNX Runtime: Failed to allocate") {
		t.Errorf("cuda, batch 1, one run: %v", e)
	}
	s.device, s.freed = device{}, ""
	if e := s.runError(oom); !errors.Is(e, ErrModel) || strings.Contains(e.Error(), "GPU") || !strings.Contains(e.Error(), "run candy-fp16.onnx on cpu: Failed to allocate") {
		t.Errorf("cpu: %v", e)
	}
}
