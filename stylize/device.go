package stylize

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	ort "github.com/yalue/onnxruntime_go"
)

// device is a parsed Options.Device.
type device struct {
	cuda bool
	id   int // CUDA device id
}

func (d device) String() string {
	if d.cuda {
		return fmt.Sprintf("cuda:%d", d.id)
	}
	return "cpu"
}

// CheckDevice says whether s names a device Options.Device takes (not
// whether it is there): for checking a setting that is used later, such as
// a farm's render arguments.
func CheckDevice(s string) error {
	_, err := parseDevice(s)
	return err
}

// parseDevice turns Options.Device into the devices to try, in order:
// "" and "cpu" -> cpu; "cuda" -> cuda:0; "cuda:N" -> cuda:N; "auto" ->
// cuda:0 then cpu.
func parseDevice(s string) ([]device, error) {
	switch t := strings.ToLower(strings.TrimSpace(s)); {
	case t == "" || t == "cpu":
		return []device{{}}, nil
	case t == "auto":
		return []device{{cuda: true}, {}}, nil
	case t == "cuda":
		return []device{{cuda: true}}, nil
	case t == "tensorrt" || strings.HasPrefix(t, "tensorrt:") || t == "trt":
		// The ORT 1.29 CUDA 13 bundle's core has no TensorRT bridge
		// (CreateTensorRTProviderOptions: "not enabled in this build"),
		// and its TensorRT provider needs TensorRT 10's libnvinfer.
		return nil, fmt.Errorf("%w: device %q: TensorRT is not supported (the CUDA bundle's ONNX Runtime has no TensorRT provider); use cuda", ErrOptions, s)
	case strings.HasPrefix(t, "cuda:"):
		n, err := strconv.Atoi(t[len("cuda:"):])
		if err != nil || n < 0 {
			break
		}
		return []device{{cuda: true, id: n}}, nil
	}
	return nil, fmt.Errorf("%w: device %q: want cpu, cuda, cuda:N or auto", ErrOptions, s)
}

// sessionOptions builds the ORT session options for dev. The caller owns
// the result and must Destroy it. On error nothing is left allocated.
func sessionOptions(threads int, dev device, lowMemory bool) (*ort.SessionOptions, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("%w: session options: %s", ErrModel, oneLine(err.Error()))
	}
	fail := func(what string, err error) (*ort.SessionOptions, error) {
		so.Destroy()
		return nil, fmt.Errorf("%w: %s: %s", ErrModel, what, oneLine(err.Error()))
	}
	if threads > 0 {
		if err := so.SetIntraOpNumThreads(threads); err != nil {
			return fail("intra-op threads", err)
		}
	}
	if err := so.SetInterOpNumThreads(1); err != nil {
		return fail("inter-op threads", err)
	}
	// ORT's idle intra-op threads spin by default, taking the CPU that
	// decode, flow and encode need between two network layers. Off unless
	// VIDNST_ORT_SPIN=1 (kept for A/B measurements, see BENCHMARKS.md).
	spin := "0"
	if os.Getenv("VIDNST_ORT_SPIN") == "1" {
		spin = "1"
	}
	if err := so.AddSessionConfigEntry("session.intra_op.allow_spinning", spin); err != nil {
		return fail("intra-op spinning", err)
	}
	if err := so.SetGraphOptimizationLevel(ort.GraphOptimizationLevelEnableAll); err != nil {
		return fail("graph optimization", err)
	}
	// On the CPU, ORT's memory pattern (one block planned for all of a
	// run's intermediate tensors, per input shape) holds 38% more memory
	// at 1080p (6.5 vs 4.0 GB peak with two frames at once) and was no
	// faster at 384x216 or 1080p (BENCHMARKS.md, "Memory");
	// VIDNST_ORT_MEMPATTERN=1 keeps it for A/B runs. CUDA sessions keep
	// ORT's default.
	if !dev.cuda && os.Getenv("VIDNST_ORT_MEMPATTERN") != "1" {
		if err := so.SetMemPattern(false); err != nil {
			return fail("memory pattern", err)
		}
	}
	if !dev.cuda && lowMemory { // Options.LowMemory
		if err := so.SetCpuMemArena(false); err != nil {
			return fail("memory arena", err)
		}
	}
	// VIDNST_ORT_PROFILE=PREFIX writes ONNX Runtime's per-node profile
	// (PREFIX_<date>.json, when the session is closed): for diagnosis.
	if p := os.Getenv("VIDNST_ORT_PROFILE"); p != "" {
		if err := so.EnableProfiling(p); err != nil {
			return fail("profiling", err)
		}
	}
	if !dev.cuda {
		return so, nil
	}
	extra := map[string]string{}
	// VIDNST_CUDA_OPTIONS="key=value,..." passes extra CUDA provider options
	// (e.g. prefer_nhwc=1) for experiments; see BENCHMARKS.md.
	for _, kv := range strings.Split(os.Getenv("VIDNST_CUDA_OPTIONS"), ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok && k != "" {
			extra[k] = v
		}
	}
	// VIDNST_CUDA_API forces one way of adding the provider (v2, plugin or
	// v1, see cudaapi.go); by default v2, then plugin when the core library
	// was built without CUDA.
	api := os.Getenv("VIDNST_CUDA_API")
	switch api {
	case "", "v1", "v2", "plugin":
	default:
		so.Destroy()
		return nil, fmt.Errorf("%w: VIDNST_CUDA_API=%q: want v2, plugin or v1 (or unset)", ErrOptions, api)
	}
	switch api {
	case "v1":
		err = appendCUDAV1(so, dev.id)
	case "plugin":
		err = appendCUDAPlugin(so, dev.id, extra)
	default:
		err = appendCUDAV2(so, dev.id, extra)
		if err != nil && api == "" && strings.Contains(err.Error(), "not enabled in this build") {
			err = appendCUDAPlugin(so, dev.id, extra)
		}
	}
	if err != nil {
		so.Destroy()
		return nil, cudaError(dev, err)
	}
	return so, nil
}

// appendCUDAV2 adds the CUDA provider through the provider-options API
// (what the official GPU builds of ONNX Runtime support).
func appendCUDAV2(so *ort.SessionOptions, id int, extra map[string]string) error {
	co, err := ort.NewCUDAProviderOptions()
	if err != nil {
		return err
	}
	defer co.Destroy() // ORT copies it into so
	opts := map[string]string{"device_id": strconv.Itoa(id)}
	for k, v := range extra {
		opts[k] = v
	}
	if err := co.Update(opts); err != nil {
		return err
	}
	return so.AppendExecutionProviderCUDA(co)
}

// cudaError is the one-line ErrNoCUDA error for an ORT failure while
// setting up CUDA: what is missing, ORT's own words, and the fix.
func cudaError(dev device, err error) error {
	msg := ortCore(oneLine(err.Error()))
	what, fix := cudaReason(msg)
	return fmt.Errorf("%w: %s: %s (onnx runtime: %s); %s", ErrNoCUDA, dev, what, msg, fix)
}

// cudaReason reads ORT's error text and says in words what is missing and
// how to fix it.
func cudaReason(msg string) (what, fix string) {
	l := strings.ToLower(msg)
	has := func(subs ...string) bool { return mentions(l, subs...) }
	switch {
	case has("libcudart", "libcublas", "libcudnn", "libcufft", "libcurand", "libnvrtc", "libcuda.so"):
		return "the CUDA runtime is missing", "put the CUDA runtime the provider was built for (CUDA 13 for the ORT 1.29 bundle: libcudart, libcublas, libcurand) and cuDNN 9 on LD_LIBRARY_PATH, or use --device cpu"
	case has("libonnxruntime_providers_cuda", "libonnxruntime_providers_shared", "not enabled in this build", "cuda execution provider is not", "providers_cuda"):
		return "the CUDA provider library is missing", "point --ort-lib at a CUDA build of ONNX Runtime with libonnxruntime_providers_shared.so and libonnxruntime_providers_cuda.so beside it (README, GPU: the CUDA 13 bundle), or use --device cpu"
	case has("no cuda-capable device", "cudaerrornodevice", "cuda failure 100:"):
		return "no GPU", "no CUDA-capable device was found; use --device cpu"
	case has("invalid device ordinal", "cuda failure 101:", "cudaerrorinvaliddevice"):
		return "no GPU with that index", "check nvidia-smi for the device numbers"
	case has("driver version is insufficient", "cuda failure 35:", "cuda failure 803:", "system has unsupported display driver"):
		return "the NVIDIA driver is too old or missing", "update the NVIDIA driver or use --device cpu"
	case has(gpuMemoryWords...):
		return "the GPU is out of memory", "lower --batch or the processing size"
	}
	return "CUDA could not be set up", "use --device cpu"
}

// gpuMemoryWords are what ORT's error text says when the GPU ran out of
// memory (lower case): CUDA's own error, ORT's arena failing to grow, or
// cuDNN's.
var gpuMemoryWords = []string{"out of memory", "cuda failure 2:", "failed to allocate memory", "cudnn_status_alloc_failed"}

// mentions reports whether the lower-case text l contains any of subs.
func mentions(l string, subs ...string) bool {
	return slices.ContainsFunc(subs, func(s string) bool { return strings.Contains(l, s) })
}

// ortCore strips ONNX Runtime's source-location prefix from a message
// ("/onnxruntime_src/...cc:123 fn [ONNXRuntimeError] : 1 : FAIL : text").
func ortCore(msg string) string {
	const tag = "[ONNXRuntimeError] : "
	if i := strings.LastIndex(msg, tag); i >= 0 {
		if parts := strings.SplitN(msg[i+len(tag):], " : ", 3); len(parts) == 3 {
			return parts[2]
		}
	}
	return msg
}

// isCUDAMessage reports whether a session-creation error looks CUDA-related.
func isCUDAMessage(msg string) bool {
	l := strings.ToLower(msg)
	for _, s := range []string{"cuda", "cudnn", "cublas", "gpu", "providers_shared", "nvidia"} {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}
