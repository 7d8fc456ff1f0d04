// Package stylize runs a feed-forward style network (an ONNX model) on
// batches of frames with ONNX Runtime. It is the only package in vidnst that
// talks to ONNX Runtime (github.com/yalue/onnxruntime_go, cgo).
//
// Ownership: the ONNX Runtime library and environment are process-wide and
// owned by this package (Init loads them once, Shutdown frees them). Every
// other C object (session, tensors, session options) is owned by exactly one
// Session and freed by its Close; nothing relies on finalizers.
//
// Pixels cross this package's API as planar RGB float32 in 0..255 (CHW: the
// R plane, then G, then B, each W*H row-major), the layout of
// internal/frame.Frame. Models that want another value range or channel
// order say so in a sidecar JSON file (see Convention); the conversion is
// done while copying into and out of the tensors.
package stylize

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// Sentinel errors; every error this package returns starts with "stylize: "
// and wraps at most one of these (match with errors.Is).
var (
	// ErrORTLibrary: the ONNX Runtime shared library could not be loaded or
	// Init was not called.
	ErrORTLibrary = errors.New("stylize: onnx runtime library not loaded")
	// ErrNotONNX: the file is not an ONNX model.
	ErrNotONNX = errors.New("stylize: not an onnx model")
	// ErrNotImage: the model's input or output is not an image tensor
	// (float32, rank 4, 3 channels) or it has more than one input.
	ErrNotImage = errors.New("stylize: model is not image to image")
	// ErrModel: the model is ONNX but ONNX Runtime cannot load or run it.
	ErrModel = errors.New("stylize: model failed")
	// ErrTooSmall: the model failed to run at a frame size under
	// minSide on a side (its padding or downsampling needs more pixels).
	ErrTooSmall = errors.New("stylize: frame too small for the model")
	// ErrSidecar: the model's sidecar JSON (value convention) is invalid.
	ErrSidecar = errors.New("stylize: bad model sidecar")
	// ErrNoCUDA: a CUDA device was asked for and cannot be used.
	ErrNoCUDA = errors.New("stylize: cuda unavailable")
	// ErrOptions: bad Options (size, batch, device string).
	ErrOptions = errors.New("stylize: bad options")
	// ErrFrames: Run got the wrong number or size of frames.
	ErrFrames = errors.New("stylize: bad frames")
	// ErrClosed: the Session was closed.
	ErrClosed = errors.New("stylize: session closed")
)

// EnvLibrary is the environment variable naming the ONNX Runtime library,
// consulted when no explicit path is given.
const EnvLibrary = "ONNXRUNTIME_SHARED_LIBRARY_PATH"

// LibName is the library's file name in the project's default locations.
const LibName = "libonnxruntime.so.1"

// SystemLib is what the dynamic loader is asked for when no candidate file
// exists.
const SystemLib = "libonnxruntime.so"

var (
	libMu   sync.Mutex
	libPath string // the library loaded, "" when none
)

// DefaultLibraryPath is where scripts/setup.sh puts the library:
// <UserCacheDir>/vidnst/lib/libonnxruntime.so.1 ("" if there is no cache
// dir).
func DefaultLibraryPath() string {
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "vidnst", "lib", LibName)
}

// ResolveLibrary picks the ONNX Runtime library to load and lists the
// candidates it looked at, in this order:
//
//  1. flag (the CLI's --ort-lib), if not empty: used as given;
//  2. $ONNXRUNTIME_SHARED_LIBRARY_PATH, if set: used as given;
//  3. DefaultLibraryPath(), if the file exists;
//  4. <executable's dir>/lib/libonnxruntime.so.1, if the file exists;
//  5. "libonnxruntime.so", left to the system's dynamic loader.
//
// An explicit choice (1 or 2) is never replaced by a later candidate: if it
// is wrong, loading fails and says so.
func ResolveLibrary(flag string) (path string, tried []string) {
	// A bare name of a file in the working folder means that file (the
	// dynamic loader would look for it in the library path instead);
	// a bare name of no file here is left to the loader.
	here := func(p string) string {
		if !strings.ContainsRune(p, filepath.Separator) {
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				if abs, err := filepath.Abs(p); err == nil {
					return abs
				}
			}
		}
		return p
	}
	if flag != "" {
		flag = here(flag)
		return flag, []string{flag}
	}
	if env := os.Getenv(EnvLibrary); env != "" {
		env = here(env)
		return env, []string{env}
	}
	var cands []string
	if p := DefaultLibraryPath(); p != "" {
		cands = append(cands, p)
	}
	if exe, err := os.Executable(); err == nil {
		cands = append(cands, filepath.Join(filepath.Dir(exe), "lib", LibName))
	}
	for _, c := range cands {
		tried = append(tried, c)
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			return c, tried
		}
	}
	return SystemLib, append(tried, SystemLib)
}

// Init loads the ONNX Runtime shared library (chosen by ResolveLibrary(lib))
// and creates the process-wide ORT environment. It is idempotent and safe
// for concurrent use: once a call succeeds, later calls return nil and do
// nothing (even with another lib). A failed call leaves nothing loaded and
// may be retried. The environment lives until Shutdown.
//
// The error, wrapping ErrORTLibrary, is one line naming what was tried and
// how to fix it.
func Init(lib string) error {
	libMu.Lock()
	defer libMu.Unlock()
	if libPath != "" && ort.IsInitialized() {
		return nil
	}
	path, tried := ResolveLibrary(lib)
	ort.SetSharedLibraryPath(path)
	// ONNX Runtime prints each error it returns a second time, in colour,
	// over several lines; vidnst reports the returned one in one line.
	// VIDNST_ORT_LOG=error (or warning, verbose) shows ORT's own log.
	logLevel := ort.WithLogLevelFatal()
	switch os.Getenv("VIDNST_ORT_LOG") {
	case "error":
		logLevel = ort.WithLogLevelError()
	case "warning":
		logLevel = ort.WithLogLevelWarning()
	case "verbose":
		logLevel = ort.WithLogLevelVerbose()
	}
	if err := ort.InitializeEnvironment(logLevel); err != nil {
		how := "run scripts/setup.sh (it installs " + LibName + " at " + DefaultLibraryPath() + ") or pass --ort-lib PATH"
		switch {
		case lib != "":
			how = "check the --ort-lib path, or run scripts/setup.sh and drop --ort-lib"
		case os.Getenv(EnvLibrary) != "":
			how = "check $" + EnvLibrary + ", or unset it and run scripts/setup.sh"
		}
		// onnxruntime_go wraps dlerror() twice; keep dlerror's own words.
		why := oneLine(err.Error())
		if strings.Contains(why, "OrtGetApiBase") {
			why = "it is not an ONNX Runtime library (it has no OrtGetApiBase)"
		} else if i := strings.Index(why, "\": "); i >= 0 {
			why = why[i+3:]
		}
		why = strings.TrimPrefix(why, path+": ")
		return fmt.Errorf("%w: cannot load %s (tried %s): %s; %s",
			ErrORTLibrary, path, strings.Join(tried, ", "), why, how)
	}
	libPath = path
	return nil
}

// Loaded reports the path of the loaded library ("" before Init succeeds).
func Loaded() string {
	libMu.Lock()
	defer libMu.Unlock()
	return libPath
}

// Version is the loaded ONNX Runtime's version string ("" if not loaded).
func Version() string {
	libMu.Lock()
	defer libMu.Unlock()
	if libPath == "" {
		return ""
	}
	return ort.GetVersion()
}

// Shutdown destroys the ORT environment and unloads the library. It is
// idempotent; Init may be called again afterwards. While any Session is
// open it does nothing (freeing the environment under a live session would
// crash): close every Session first.
func Shutdown() {
	libMu.Lock()
	defer libMu.Unlock()
	if liveSessions.Load() > 0 {
		return
	}
	if ort.IsInitialized() {
		_ = ort.DestroyEnvironment()
	}
	libPath = ""
}

func requireInit() error {
	if !ort.IsInitialized() {
		return fmt.Errorf("%w: call stylize.Init first", ErrORTLibrary)
	}
	return nil
}

// oneLine squeezes an ONNX Runtime message onto one line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	s = strings.Join(strings.Fields(s), " ")
	return s
}
