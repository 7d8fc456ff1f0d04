package stylize

// What onnxruntime_go does not wrap, reached through ONNX Runtime's own C
// API table (OrtApi):
//
//   - Run on values of our choosing with run options and no Go allocation
//     (capiRun): one ORT session serves all of a Session's slots and batch
//     sizes.
//   - page-locked host memory (cudaHostAlloc) for the tensors on CUDA.
//
// and two ways of adding the CUDA execution provider:
//
//   - plugin: register libonnxruntime_providers_cuda.so as an execution
//     provider library (ORT >= 1.22 loads it through its CreateEpFactories
//     entry point) and append the CUDA OrtEpDevice of the wanted GPU. This is
//     what works with a core library built without CUDA, such as the ORT
//     1.29 CUDA 13 bundle (../shared/gpu), where the provider-options API
//     answers "CUDA execution provider is not enabled in this build".
//   - v1: the original OrtCUDAProviderOptions struct API. Only used when
//     VIDNST_CUDA_API=v1 asks for it (for diagnosis): with a core and a
//     provider built apart it may not be safe.
//
// OrtApi is a table of function pointers that ONNX Runtime only ever appends
// to, so an entry's index is fixed for good. The indices below were read off
// onnxruntime_c_api.h (ORT_API_VERSION 24, shipped with onnxruntime_go
// v1.27.0) with offsetof(OrtApi, name)/sizeof(void*).

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum {
	iGetErrorMessage = 2,
	iCreateEnv = 3,
	iRun = 9,
	iReleaseEnv = 92,
	iReleaseStatus = 93,
	iAppendCUDAV1 = 152,
	iRegisterEpLibrary = 301,
	iGetEpDevices = 303,
	iAppendV2 = 304,
	iEpDeviceEpName = 312,
};

typedef struct { const void* (*GetApi)(uint32_t); const char* (*GetVersionString)(void); } vidnst_api_base;

static void* const* vidnst_api;

// vidnst_api_open finds the OrtApi table of the already loaded library lib.
static const char* vidnst_api_open(const char* lib) {
	void* h = dlopen(lib, RTLD_NOW | RTLD_NOLOAD);
	if (!h) return "the ONNX Runtime library is not loaded";
	const vidnst_api_base* (*get)(void) = (const vidnst_api_base* (*)(void))dlsym(h, "OrtGetApiBase");
	if (!get) return "OrtGetApiBase not found";
	vidnst_api = (void* const*)get()->GetApi(22); // 22: the first with GetEpDevices
	if (!vidnst_api) return "ONNX Runtime is older than 1.22";
	return NULL;
}

// vidnst_status turns an OrtStatus into a malloc'ed message (NULL for OK)
// and releases it.
static char* vidnst_status(void* st) {
	if (!st) return NULL;
	const char* (*msg)(void*) = (const char* (*)(void*))vidnst_api[iGetErrorMessage];
	char* m = strdup(msg(st));
	((void (*)(void*))vidnst_api[iReleaseStatus])(st);
	return m;
}

// vidnst_run runs sess on one input and one output value (OrtRun with
// run options ro, which may be NULL).
static char* vidnst_run(void* sess, void* ro, const char* in_name, void* in, const char* out_name, void* out) {
	const char* in_names[1] = {in_name};
	const void* ins[1] = {in};
	const char* out_names[1] = {out_name};
	void* outs[1] = {out};
	return vidnst_status(((void* (*)(void*, const void*, const char* const*, const void* const*, size_t, const char* const*, size_t, void**))vidnst_api[iRun])(
		sess, ro, in_names, ins, 1, out_names, 1, outs));
}

typedef struct {
	int device_id;
	int cudnn_conv_algo_search; // 0: exhaustive
	size_t gpu_mem_limit;
	int arena_extend_strategy;
	int do_copy_in_default_stream;
	int has_user_compute_stream;
	void* user_compute_stream;
	void* default_memory_arena_cfg;
	int tunable_op_enable;
	int tunable_op_tuning_enable;
	int tunable_op_max_tuning_duration_ms;
} vidnst_cuda_v1_options;

static char* vidnst_cuda_v1(void* so, int dev) {
	vidnst_cuda_v1_options o;
	memset(&o, 0, sizeof o);
	o.device_id = dev;
	o.gpu_mem_limit = SIZE_MAX;
	o.do_copy_in_default_stream = 1;
	return vidnst_status(((void* (*)(void*, const void*))vidnst_api[iAppendCUDAV1])(so, &o));
}

// vidnst_cuda_plugin registers provlib once (*registered) and appends the
// index-th CUDA device to so. *count is the number of CUDA devices seen.
static char* vidnst_cuda_plugin(void* so, const char* provlib, int* registered, int index,
		const char** keys, const char** vals, size_t nkv, int* count) {
	void* env = NULL;
	char* err = vidnst_status(((void* (*)(int, const char*, void**))vidnst_api[iCreateEnv])(3, "vidnst", &env));
	if (err) return err;
	if (!*registered) {
		err = vidnst_status(((void* (*)(void*, const char*, const char*))vidnst_api[iRegisterEpLibrary])(env, "vidnst-cuda", provlib));
		if (!err) *registered = 1;
	}
	const void* const* devs = NULL;
	size_t n = 0;
	if (!err) err = vidnst_status(((void* (*)(void*, const void* const**, size_t*))vidnst_api[iGetEpDevices])(env, &devs, &n));
	const void* pick = NULL;
	*count = 0;
	for (size_t i = 0; !err && i < n; i++) {
		const char* name = ((const char* (*)(const void*))vidnst_api[iEpDeviceEpName])(devs[i]);
		if (name && strcmp(name, "CUDAExecutionProvider") == 0) {
			if (*count == index) pick = devs[i];
			(*count)++;
		}
	}
	if (!err && pick) {
		err = vidnst_status(((void* (*)(void*, void*, const void* const*, size_t, const char* const*, const char* const*, size_t))vidnst_api[iAppendV2])(
			so, env, &pick, 1, keys, vals, nkv));
	}
	((void (*)(void*))vidnst_api[iReleaseEnv])(env);
	return err;
}
// Page-locked host memory from the CUDA runtime the provider loaded, so
// ONNX Runtime's host<->device copies of the bound tensors run as DMA
// instead of being staged through a bounce buffer.
typedef int (*vidnst_host_alloc_fn)(void**, size_t, unsigned int);
typedef int (*vidnst_host_free_fn)(void*);
static vidnst_host_alloc_fn vidnst_host_alloc;
static vidnst_host_free_fn vidnst_host_free;

static int vidnst_pinned_open(void) {
	if (vidnst_host_alloc) return 1;
	const char* names[] = {"libcudart.so.13", "libcudart.so.12", "libcudart.so"};
	for (int i = 0; i < 3; i++) {
		void* h = dlopen(names[i], RTLD_NOW | RTLD_NOLOAD);
		if (!h) continue;
		vidnst_host_alloc_fn a = (vidnst_host_alloc_fn)dlsym(h, "cudaHostAlloc");
		vidnst_host_free_fn f = (vidnst_host_free_fn)dlsym(h, "cudaFreeHost");
		if (a && f) { vidnst_host_free = f; vidnst_host_alloc = a; return 1; }
	}
	return 0;
}

static void* vidnst_pinned_alloc(size_t n) {
	void* p = NULL;
	if (!vidnst_pinned_open() || vidnst_host_alloc(&p, n, 0) != 0) return NULL;
	return p;
}

static void vidnst_pinned_free(void* p) {
	if (p && vidnst_host_free) vidnst_host_free(p);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"unsafe"

	ort "github.com/yalue/onnxruntime_go"
)

var (
	capiMu         sync.Mutex
	capiRegistered C.int
)

// rawSessionOptions is so's OrtSessionOptions pointer. onnxruntime_go keeps
// it as the struct's only field, o; checked here so a version that changes
// that fails loudly instead of passing garbage to C.
func rawSessionOptions(so *ort.SessionOptions) (unsafe.Pointer, error) {
	return onlyPointer(unsafe.Pointer(so), reflect.TypeOf(*so), "o")
}

// onlyPointer reads the pointer that the onnxruntime_go struct at p (of type
// t) keeps as its first field, name. The layout is checked so that a
// version that changes it fails loudly instead of passing garbage to C.
func onlyPointer(p unsafe.Pointer, t reflect.Type, name string) (unsafe.Pointer, error) {
	if t.Kind() != reflect.Struct || t.NumField() < 1 || t.Field(0).Name != name || t.Field(0).Type.Kind() != reflect.Pointer || t.Field(0).Offset != 0 {
		return nil, fmt.Errorf("unexpected onnxruntime_go %s layout", t.Name())
	}
	if p == nil {
		return nil, fmt.Errorf("nil onnxruntime_go %s", t.Name())
	}
	return *(*unsafe.Pointer)(p), nil
}

// capiRun runs one ORT session through the C API with values and run
// options that onnxruntime_go created: one session serves every slot and
// batch size (so cuDNN tunes its algorithms and the GPU arena grows once),
// with no Go allocation per run. It owns the C copies of the names.
type capiRun struct {
	sess            unsafe.Pointer // *OrtSession, owned by the DynamicAdvancedSession
	ro              unsafe.Pointer // *OrtRunOptions, owned by the Session
	inName, outName *C.char
}

func newCAPIRun(sess *ort.DynamicAdvancedSession, ro *ort.RunOptions, in, out string) (*capiRun, error) {
	adv, err := onlyPointer(unsafe.Pointer(sess), reflect.TypeOf(*sess), "s")
	if err != nil {
		return nil, err
	}
	raw, err := onlyPointer(adv, reflect.TypeOf(ort.AdvancedSession{}), "ortSession")
	if err != nil {
		return nil, err
	}
	rawRO, err := onlyPointer(unsafe.Pointer(ro), reflect.TypeOf(*ro), "o")
	if err != nil {
		return nil, err
	}
	capiMu.Lock()
	err = openCAPI()
	capiMu.Unlock()
	if err != nil {
		return nil, err
	}
	return &capiRun{sess: raw, ro: rawRO, inName: C.CString(in), outName: C.CString(out)}, nil
}

// ortValue is the OrtValue behind a tensor.
func ortValue(t ort.Value) (unsafe.Pointer, error) {
	d := t.GetInternals()
	return onlyPointer(unsafe.Pointer(d), reflect.TypeOf(*d), "ortValue")
}

// run runs the session from in to out (OrtValues from ortValue).
func (c *capiRun) run(in, out unsafe.Pointer) error {
	if msg := C.vidnst_run(c.sess, c.ro, c.inName, in, c.outName, out); msg != nil {
		defer C.free(unsafe.Pointer(msg))
		return errors.New(C.GoString(msg))
	}
	return nil
}

func (c *capiRun) close() {
	if c == nil || c.inName == nil {
		return
	}
	C.free(unsafe.Pointer(c.inName))
	C.free(unsafe.Pointer(c.outName))
	c.inName, c.outName = nil, nil
}

func openCAPI() error {
	lib := C.CString(Loaded())
	defer C.free(unsafe.Pointer(lib))
	if msg := C.vidnst_api_open(lib); msg != nil {
		return errors.New(C.GoString(msg))
	}
	return nil
}

// providerLibrary is where the CUDA provider must be: beside the core
// library (where ONNX Runtime itself looks for it).
func providerLibrary() string {
	return filepath.Join(filepath.Dir(Loaded()), "libonnxruntime_providers_cuda.so")
}

// appendCUDAPlugin adds GPU id through the plugin-EP API, with extra
// provider options. Its errors are worded so that cudaReason classifies
// them.
func appendCUDAPlugin(so *ort.SessionOptions, id int, extra map[string]string) error {
	raw, err := rawSessionOptions(so)
	if err != nil {
		return err
	}
	prov := providerLibrary()
	if _, err := os.Stat(prov); err != nil {
		return fmt.Errorf("CUDA execution provider is not enabled in this build and %s is missing", prov)
	}
	capiMu.Lock()
	defer capiMu.Unlock()
	if err := openCAPI(); err != nil {
		return err
	}
	cprov := C.CString(prov)
	defer C.free(unsafe.Pointer(cprov))
	n := len(extra)
	kv := C.malloc(C.size_t(2*max(n, 1)) * C.size_t(unsafe.Sizeof(uintptr(0))))
	defer C.free(kv)
	ptrs := unsafe.Slice((**C.char)(kv), 2*max(n, 1))
	i := 0
	for k, v := range extra {
		ptrs[i], ptrs[n+i] = C.CString(k), C.CString(v)
		defer C.free(unsafe.Pointer(ptrs[i]))
		defer C.free(unsafe.Pointer(ptrs[n+i]))
		i++
	}
	var count C.int
	msg := C.vidnst_cuda_plugin(raw, cprov, &capiRegistered, C.int(id),
		(**C.char)(kv), (**C.char)(unsafe.Add(kv, n*int(unsafe.Sizeof(uintptr(0))))), C.size_t(n), &count)
	if msg != nil {
		defer C.free(unsafe.Pointer(msg))
		return errors.New(C.GoString(msg))
	}
	switch {
	case count == 0:
		return errors.New("CUDA failure 100: no CUDA-capable device is detected")
	case int(count) <= id:
		return fmt.Errorf("CUDA failure 101: invalid device ordinal (%d CUDA devices)", count)
	}
	return nil
}

// appendCUDAV1 adds GPU id through the OrtCUDAProviderOptions struct API.
func appendCUDAV1(so *ort.SessionOptions, id int) error {
	raw, err := rawSessionOptions(so)
	if err != nil {
		return err
	}
	capiMu.Lock()
	defer capiMu.Unlock()
	if err := openCAPI(); err != nil {
		return err
	}
	if msg := C.vidnst_cuda_v1(raw, C.int(id)); msg != nil {
		defer C.free(unsafe.Pointer(msg))
		return errors.New(C.GoString(msg))
	}
	return nil
}

// pinned returns n values of page-locked host memory from the CUDA
// runtime already loaded in the process, or nil when there is none (no
// CUDA provider loaded, or the allocation failed). The caller owns it and
// must give it to freePinned exactly once.
func pinned[T float32 | uint16](n int) []T {
	capiMu.Lock()
	defer capiMu.Unlock()
	p := C.vidnst_pinned_alloc(C.size_t(n) * C.size_t(unsafe.Sizeof(T(0))))
	if p == nil {
		return nil
	}
	return unsafe.Slice((*T)(p), n)
}

// freePinned frees memory from pinned (nil is ignored).
func freePinned[T float32 | uint16](f []T) {
	if len(f) == 0 {
		return
	}
	capiMu.Lock()
	defer capiMu.Unlock()
	C.vidnst_pinned_free(unsafe.Pointer(unsafe.SliceData(f)))
}
