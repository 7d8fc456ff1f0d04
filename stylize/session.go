package stylize

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/vidnst/vidnst/internal/half"
	ort "github.com/yalue/onnxruntime_go"
)

// Options configures a Session.
type Options struct {
	// Width and Height are the frame size in pixels (> 0). A model whose
	// file fixes another size (or batch) is run with those dims freed.
	Width, Height int
	// Batch is the most frames one Run takes. 0 means the model's fixed
	// batch size if it has one, else 1: on the CPU bigger batches are no
	// faster, and on CUDA (an H100, 1080p, fp16 candy, two runs at once)
	// batch 4 ran the network alone 7% faster (80.5 against 75.4
	// frames/s) but the pipeline with the default temporal stage 3-10%
	// slower (68.0-68.1 against 69.9-72.3; 59.0 against 65.1 on another
	// machine), and batch 1 needs about a quarter of the activation
	// memory (an estimate); the fp32 network was faster at batch 1 even
	// alone (BENCHMARKS.md).
	Batch int
	// Threads is ONNX Runtime's intra-op thread count; 0 = all cores
	// (runtime.NumCPU()). Inter-op threads are always 1.
	Threads int
	// Device: "cpu" (or ""), "cuda" (= "cuda:0"), "cuda:N", or "auto" (CUDA
	// device 0 if it works, else the CPU; see Session.Device and
	// Session.Fallback).
	Device string
	// Buffers is the number of tensor sets (slots, see Load/Exec/Store);
	// 0 means 2 per parallel run on CUDA, at most 4 (copies overlap
	// inference), and Parallel on the CPU; VIDNST_BUFFERS=N sets it for
	// A/B runs.
	Buffers int
	// Parallel is how many slots may Exec at once, each run on
	// Threads/Parallel intra-op threads. 0 means 2 on the CPU when Threads
	// is 2 or more (two frames on one thread each ran 15-19% faster than
	// one frame on two threads on a 2-core machine: no per-layer
	// barriers) and 2 on CUDA too: two batches at once, each on its own
	// CUDA stream, ran 1080p fp16 at 73 frames/s against 62 one at a time
	// at batch 1 on an H100, 81 against 77 at batch 4 (BENCHMARKS.md).
	// VIDNST_PARALLEL=N sets it for A/B runs.
	Parallel int
	// LowMemory, on the CPU, turns ONNX Runtime's memory arena off: a
	// 12 MP frame took 6.4 GB instead of 10.7 but 1.37x the time, 1080p
	// video one frame at a time 1.6 GB instead of 2.2 in 1.6x
	// (BENCHMARKS.md, "Memory"), for when memory is short.
	LowMemory bool
}

// Session runs one model at one frame size. It owns all the ONNX Runtime
// objects it creates (session options, sessions, tensors) from New until
// Close, and the tensors' pixel memory. A Session is not safe for concurrent
// use beyond what the slots allow (below): one goroutine at a time may call
// Run, and Close must not race with Run.
//
// The input and output tensors ([Batch,3,H,W] float32) are made once in New;
// Run copies pixels straight into and out of their memory, converting to and
// from the model's Convention on the way, so a Run in steady state
// allocates nothing. An fp16 network (float32 input Cast to float16 first,
// float16 result Cast to float32 last) gets float16 tensors on CUDA where
// the CPU converts float16 in hardware (HalfIO): the rounding its first
// Cast did happens in Load, the widening in Store, and the GPU copies half
// the bytes.
//
// One ORT session serves every slot and batch size (so the CUDA provider
// tunes its convolutions and grows its memory arena once); each run names
// the tensors it reads and writes.
//
// Partial batches (n < Batch frames): on a CPU, for a model with a free
// batch dim, the first Run with n frames makes [n,3,H,W] tensors over the
// same memory, kept until Close. On CUDA, and for a model whose batch dim
// is fixed, the batch is padded: the tail entries repeat the last frame and
// their results are ignored (a new shape would make cuDNN tune its convolutions again, a
// pause of about half a second at a render's last batch, where the padding
// costs a few frames of GPU time).
//
// Double buffering: with Buffers = 2 or more (the default: 4 on CUDA, two
// per run at once, and 2 on a CPU with 2+ threads) the Session has that
// many slots, each with its own tensors.
// Load (copy frames into a slot's input tensor), Exec (run the network on a
// slot) and Store (copy a slot's output out) may then run in three
// goroutines at once as long as each slot is used by one of them at a time,
// in the order Load, Exec, Store: while the GPU runs batch k, the CPU fills
// batch k+1 and drains batch k-1. Up to Parallel() slots may Exec at once
// (from different goroutines; ORT runs a session concurrently): on the CPU
// two frames then run side by side on one thread each. Run is
// Load+Exec+Store on slot 0.
type Session struct {
	info   *ModelInfo
	w, h   int
	batch  int
	device device
	fb     error  // why "auto" fell back to the CPU
	mend   string // what was done to the model's float16 norms (Mend)
	half   bool   // the tensors are float16 (halfIO)

	so             *ort.SessionOptions // owned
	sess           *ort.DynamicAdvancedSession
	crun           *capiRun // runs sess; owns the C names
	parallel       int      // slots that may Exec at once
	lowMemory      bool     // Options.LowMemory, on the CPU
	slots          []*slot
	fixedBatch     bool
	freed          string  // the input shape the file fixes, when New freed its dims
	inA, inB       float32 // model = pipeline*inA + inB
	outA, outB     float32 // pipeline = model*outA + outB
	identIn, ident bool    // no value conversion needed (in, out)
	chans          [3]int  // model channel -> pipeline channel
	closed         bool

	// ro is passed to every run so Cancel (from another goroutine) can
	// stop one in flight; canceled is set by Cancel and never cleared.
	ro       *ort.RunOptions
	roMu     sync.Mutex // Cancel against Close
	canceled atomic.Bool
	// checked is set by the first Store, which looks at its first frame
	// for values that are not numbers (see Store).
	checked atomic.Bool
}

// ErrCanceled is returned by Run after Cancel.
var ErrCanceled = errors.New("stylize: canceled")

// Cancel stops a Run in progress (and makes later ones fail) so a render
// can end promptly on SIGINT even while a large frame is being stylized.
// It may be called from any goroutine at any time, also during or after
// Close.
func (s *Session) Cancel() {
	s.roMu.Lock()
	defer s.roMu.Unlock()
	if s.canceled.Swap(true) || s.ro == nil {
		return
	}
	_ = s.ro.Terminate()
}

// slot is one set of tensor memory with the tensors over it.
type slot struct {
	// Tensor memory, shared by the slot's tensors: float32, or float16
	// bits when the session runs the network with float16 input and
	// output (halfIO); the other pair is nil.
	inBuf, outBuf   []float32
	inHalf, outHalf []uint16
	scratch         []float32 // with float16 tensors: Load's affine conversion, a chunk at a time
	pinned          bool      // the tensor memory is CUDA page-locked memory
	full            *runner
	partial         []*runner // [n-1], built on first use when !fixedBatch
	n               int       // frames loaded by the last Load
}

func (sl *slot) close() {
	for i, r := range sl.partial {
		r.close()
		sl.partial[i] = nil
	}
	sl.full.close()
	sl.full = nil
	if sl.pinned {
		freePinned(sl.inBuf)
		freePinned(sl.outBuf)
		freePinned(sl.inHalf)
		freePinned(sl.outHalf)
		sl.pinned = false
	}
	sl.inBuf, sl.outBuf, sl.inHalf, sl.outHalf = nil, nil, nil, nil
}

// newSlot allocates a slot's tensor memory for n values each way, float16
// when half: page-locked on CUDA when the CUDA runtime is there (copies to
// and from the GPU then run as DMA), Go memory otherwise.
func newSlot(n, batch int, cuda, half bool) *slot {
	sl := &slot{partial: make([]*runner, batch)}
	if half {
		sl.scratch = make([]float32, 4096)
	}
	pin := cuda && os.Getenv("VIDNST_PINNED") != "0"
	switch {
	case half && pin:
		in, out := pinned[uint16](n), pinned[uint16](n)
		if in != nil && out != nil {
			sl.inHalf, sl.outHalf, sl.pinned = in, out, true
			return sl
		}
		freePinned(in)
		freePinned(out)
	case pin:
		in, out := pinned[float32](n), pinned[float32](n)
		if in != nil && out != nil {
			sl.inBuf, sl.outBuf, sl.pinned = in, out, true
			return sl
		}
		freePinned(in)
		freePinned(out)
	}
	if half {
		sl.inHalf, sl.outHalf = make([]uint16, n), make([]uint16, n)
	} else {
		sl.inBuf, sl.outBuf = make([]float32, n), make([]float32, n)
	}
	return sl
}

// runner is an input and an output tensor of one batch size over a slot's
// memory, with their OrtValues for capiRun; it owns both tensors.
type runner struct {
	in, out   ort.Value
	rin, rout unsafe.Pointer
}

func (r *runner) close() {
	if r == nil {
		return
	}
	if r.in != nil {
		_ = r.in.Destroy()
		r.in = nil
	}
	if r.out != nil {
		_ = r.out.Destroy()
		r.out = nil
	}
}

// liveSessions counts open Sessions, so that Shutdown does not pull the
// environment out from under them.
var liveSessions atomic.Int64

// New loads the model at modelPath for frames of opts.Width x opts.Height
// and batches of up to opts.Batch. Init must have succeeded. The caller
// owns the Session and must Close it. On error nothing is left allocated.
//
// Errors: ErrOptions (bad options), the errors of Inspect, ErrNoCUDA (one
// line saying what is missing) for "cuda"/"cuda:N", and ErrModel when the
// model's fixed dims differ from the size asked for and cannot be freed, or
// ONNX Runtime cannot build
// the session. With "auto" a CUDA failure is not an error: the Session runs
// on the CPU and Fallback returns the reason.
func New(modelPath string, opts Options) (*Session, error) {
	if err := requireInit(); err != nil {
		return nil, err
	}
	if opts.Width <= 0 || opts.Height <= 0 {
		return nil, fmt.Errorf("%w: frame size %dx%d", ErrOptions, opts.Width, opts.Height)
	}
	if opts.Batch < 0 || opts.Threads < 0 || opts.Buffers < 0 || opts.Buffers > 4 || opts.Parallel < 0 || opts.Parallel > 4 {
		return nil, fmt.Errorf("%w: batch %d, threads %d, buffers %d, parallel %d", ErrOptions, opts.Batch, opts.Threads, opts.Buffers, opts.Parallel)
	}
	if opts.Threads == 0 {
		opts.Threads = runtime.NumCPU()
	}
	devs, err := parseDevice(opts.Device)
	if err != nil {
		return nil, err
	}
	info, err := Inspect(modelPath)
	if err != nil {
		return nil, err
	}
	s := &Session{info: info, w: opts.Width, h: opts.Height}
	// A model exported at one fixed size (the ONNX Model Zoo's style
	// networks take [1,3,224,224]) is run at another by freeing its image
	// dims: fully convolutional networks run at any size, and one that does
	// not fails its first Run with a shape error (see Exec).
	var data []byte // the rewritten model, nil to load modelPath itself
	d := info.Input.Dims
	if (d[2] > 0 && d[2] != int64(opts.Height)) || (d[3] > 0 && d[3] != int64(opts.Width)) ||
		(d[0] > 0 && opts.Batch > 0 && int64(opts.Batch) != d[0]) {
		raw, err := os.ReadFile(modelPath)
		if err == nil {
			data, err = freeImageDims(raw, info.Input.Name, info.Output.Name)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s takes input %s, asked for %dx%d frames, batch %d, and its dims could not be freed: %v", ErrModel, modelPath, info.Input.Shape(), opts.Width, opts.Height, opts.Batch, err)
		}
		s.freed = info.Input.Shape()
	} else if d[0] > 0 {
		if opts.Batch == 0 {
			opts.Batch = int(d[0])
		}
		s.fixedBatch = true
	}
	c := info.Convention
	s.inA, s.inB = c.toModel()
	s.outA, s.outB = c.fromModel()
	s.identIn = s.inA == 1 && s.inB == 0
	s.ident = s.outA == 1 && s.outB == 0
	for mc := range 3 {
		s.chans[mc] = c.modelChannel(mc)
	}

	// On CUDA, where a batch holds more than one frame, float16 instance
	// norms see the batch folded into their channels (foldNorms: ONNX
	// Runtime's kernel is wrong for float16 at N > 1; one frame at a
	// time they are right as they are). For A/B measurements
	// VIDNST_FP16_NORMS=float32 runs them in float32 instead (fp32Norms),
	// =scale scales the first Conv so its norm cannot overflow
	// (scaleNorms), =keep leaves them (wrong in batches).
	var cudaData []byte
	var cudaMend string
	mend := os.Getenv("VIDNST_FP16_NORMS")
	switch mend {
	case "", "keep", "fold", "float32", "scale":
	default:
		return nil, fmt.Errorf("%w: VIDNST_FP16_NORMS=%q: want fold, float32, scale or keep (or unset)", ErrOptions, mend)
	}
	// The model's bytes for the rewrites below (data, or the file's, read
	// once); data stays nil unless a rewrite is kept, so the file is
	// loaded by path where it can be.
	var fileBytes []byte
	fileData := func() ([]byte, error) {
		if data != nil {
			return data, nil
		}
		if fileBytes == nil {
			raw, err := os.ReadFile(modelPath)
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrModel, err)
			}
			fileBytes = raw
		}
		return fileBytes, nil
	}
	if opts.Batch > 1 && slices.ContainsFunc(devs, func(d device) bool { return d.cuda }) && mend != "keep" {
		raw, err := fileData()
		if err != nil {
			return nil, err
		}
		fixed, what, err := mendNorms(raw, mend, opts.Batch, c, info.Input.Name)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrModel, modelPath, err)
		}
		if what != "" {
			cudaData, cudaMend = fixed, what
		}
	}

	if _, err := halfIOWanted(false); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOptions, err)
	}
	for i, dev := range devs {
		auto := i < len(devs)-1 // a later device is there to fall back to
		data := data
		s.mend, s.half = "", false
		if dev.cuda && cudaData != nil {
			data, s.mend = cudaData, cudaMend
		}
		// An fp16 network with float32 input and output: float16 tensors
		// instead, the Casts done here (halfIO). A graph halfIO cannot
		// rewrite is run as it is.
		if want, _ := halfIOWanted(dev.cuda); want {
			src := data
			if src == nil {
				if src, err = fileData(); err != nil {
					return nil, err
				}
			}
			if h, err := halfIO(src, info.Input.Name, info.Output.Name); err == nil {
				data, s.half = h, true
			}
		}
		par := opts.Parallel
		if v, err := strconv.Atoi(os.Getenv("VIDNST_PARALLEL")); par == 0 && err == nil && v >= 1 && v <= 4 {
			par = v // for A/B measurements (BENCHMARKS.md)
		}
		if par == 0 {
			par = 1
			if dev.cuda || opts.Threads >= 2 {
				par = 2
			}
		}
		so, err := sessionOptions(max(1, opts.Threads/par), dev, opts.LowMemory)
		if err != nil {
			if auto && errors.Is(err, ErrNoCUDA) {
				s.fb = err
				continue
			}
			return nil, err
		}
		var sess *ort.DynamicAdvancedSession
		if data != nil {
			// Weights a rewritten model keeps in external files are
			// found beside the file, as when it is loaded by path.
			if err = so.AddSessionConfigEntry("session.model_external_initializers_file_folder_path", filepath.Dir(modelPath)); err != nil {
				so.Destroy()
				return nil, fmt.Errorf("%w: session options: external data folder: %s", ErrModel, oneLine(err.Error()))
			}
			sess, err = ort.NewDynamicAdvancedSessionWithONNXData(data,
				[]string{info.Input.Name}, []string{info.Output.Name}, so)
		} else {
			sess, err = ort.NewDynamicAdvancedSession(modelPath,
				[]string{info.Input.Name}, []string{info.Output.Name}, so)
		}
		if err != nil {
			so.Destroy()
			if dev.cuda && isCUDAMessage(err.Error()) {
				err = cudaError(dev, err)
			} else {
				err = loadError(modelPath, err)
				if s.freed != "" {
					err = fmt.Errorf("%w (the file fixes input %s; freed to run at %dx%d)", err, s.freed, s.w, s.h)
				}
			}
			if auto {
				s.fb = err
				continue
			}
			return nil, err
		}
		s.so, s.sess, s.device, s.parallel = so, sess, dev, par
		s.lowMemory = opts.LowMemory && !dev.cuda
		break
	}
	if s.sess == nil { // unreachable: the last device returns its error
		return nil, fmt.Errorf("%w: no device could run %s", ErrModel, modelPath)
	}
	liveSessions.Add(1) // from here on, failures Close s
	if s.ro, err = ort.NewRunOptions(); err != nil {
		s.Close()
		return nil, fmt.Errorf("%w: run options: %v", ErrModel, err)
	}
	if s.crun, err = newCAPIRun(s.sess, s.ro, info.Input.Name, info.Output.Name); err != nil {
		s.Close()
		return nil, fmt.Errorf("%w: %v", ErrModel, err)
	}
	buffers := opts.Buffers
	if v, err := strconv.Atoi(os.Getenv("VIDNST_BUFFERS")); buffers == 0 && err == nil && v >= 1 && v <= 4 {
		buffers = v // for A/B measurements
	}
	if buffers == 0 {
		buffers = s.parallel
		if s.device.cuda {
			buffers = min(2*s.parallel, 4)
		}
	}
	s.parallel = min(s.parallel, buffers)
	if opts.Batch == 0 {
		opts.Batch = 1
	}
	s.batch = opts.Batch
	n := opts.Batch * 3 * opts.Width * opts.Height
	// The CUDA provider (and its runtime) is loaded by now, so the slots'
	// memory can be page-locked.
	for len(s.slots) < buffers {
		sl := newSlot(n, opts.Batch, s.device.cuda, s.half)
		r, err := s.newRunner(sl, opts.Batch)
		if err != nil {
			sl.close()
			s.Close()
			return nil, fmt.Errorf("%w: buffer %d: %s", ErrModel, len(s.slots), ortCore(oneLine(err.Error())))
		}
		sl.full = r
		s.slots = append(s.slots, sl)
	}
	return s, nil
}

func (s *Session) freeSlots() {
	for _, sl := range s.slots {
		sl.close()
	}
	s.slots = nil
}

// newRunner makes [n,3,H,W] tensors over the first n frames of sl's
// buffers. The runner owns what it returns; on error nothing is left
// allocated. The error is ORT's, unclassified.
func (s *Session) newRunner(sl *slot, n int) (*runner, error) {
	shape := ort.NewShape(int64(n), 3, int64(s.h), int64(s.w))
	size := n * 3 * s.w * s.h
	r := &runner{}
	var err error
	tensor := func(f []float32, h []uint16) (ort.Value, error) {
		if h == nil {
			return ort.NewTensor(shape, f[:size:size])
		}
		b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(h))), 2*size)
		return ort.NewCustomDataTensor(shape, b, ort.TensorElementDataTypeFloat16)
	}
	if r.in, err = tensor(sl.inBuf, sl.inHalf); err != nil {
		return nil, err
	}
	if r.out, err = tensor(sl.outBuf, sl.outHalf); err != nil {
		r.close()
		return nil, err
	}
	if r.rin, err = ortValue(r.in); err == nil {
		r.rout, err = ortValue(r.out)
	}
	if err != nil {
		r.close()
		return nil, err
	}
	return r, nil
}

// Run styles n = len(in) frames (1 <= n <= Batch): out[i] = model(in[i]).
// in[i] and out[i] are planar RGB 0..255 float32 of length 3*Width*Height;
// in[i] is only read, out[i] is overwritten (they may be the same slice).
// Output values are the model's, converted back to 0..255 but NOT clamped:
// the encoder clamps. The Session keeps no reference to in or out. Run uses
// slot 0: it must not overlap a Load, Exec or Store of slot 0.
func (s *Session) Run(in, out [][]float32) error {
	if len(in) != len(out) {
		return fmt.Errorf("%w: %d input and %d output frames", ErrFrames, len(in), len(out))
	}
	if err := s.Load(0, in); err != nil {
		return err
	}
	if err := s.Exec(0); err != nil {
		return err
	}
	return s.Store(0, out)
}

// Pinned reports whether the tensors' host memory is page-locked (CUDA).
func (s *Session) Pinned() bool { return len(s.slots) > 0 && s.slots[0].pinned }

// Slots is the number of tensor sets (Options.Buffers).
func (s *Session) Slots() int { return len(s.slots) }

// Parallel is how many slots may Exec at once (Options.Parallel).
func (s *Session) Parallel() int { return s.parallel }

// LowMemory says whether the session runs with ONNX Runtime's memory arena
// off (Options.LowMemory on the CPU).
func (s *Session) LowMemory() bool { return s.lowMemory }

// slot checks i and the frames' sizes.
func (s *Session) slot(i int, frames [][]float32, what string) (*slot, error) {
	if s.closed {
		return nil, ErrClosed
	}
	if i < 0 || i >= len(s.slots) {
		return nil, fmt.Errorf("%w: slot %d of %d", ErrFrames, i, len(s.slots))
	}
	n := len(frames)
	if n == 0 || n > s.batch {
		return nil, fmt.Errorf("%w: %d %s frames, batch is %d", ErrFrames, n, what, s.batch)
	}
	plane := s.w * s.h
	for j, f := range frames {
		if len(f) != 3*plane {
			return nil, fmt.Errorf("%w: %s frame %d has %d values, want %d (3x%dx%d)", ErrFrames, what, j, len(f), 3*plane, s.w, s.h)
		}
	}
	return s.slots[i], nil
}

// Load copies n = len(in) frames (1 <= n <= Batch) into slot i's input
// tensor, converting to the model's convention. It keeps no reference to
// in.
func (s *Session) Load(i int, in [][]float32) error {
	sl, err := s.slot(i, in, "input")
	if err != nil {
		return err
	}
	plane := s.w * s.h
	for f := range in {
		for mc := range 3 {
			pc := s.chans[mc]
			src := in[f][pc*plane : (pc+1)*plane]
			lo, hi := (f*3+mc)*plane, (f*3+mc+1)*plane
			switch {
			case s.half && s.identIn:
				half.FromFloat32s(sl.inHalf[lo:hi], src)
			case s.half:
				toHalf(sl.inHalf[lo:hi], src, s.inA, s.inB, sl.scratch)
			case s.identIn:
				copy(sl.inBuf[lo:hi], src)
			default:
				affine(sl.inBuf[lo:hi], src, s.inA, s.inB)
			}
		}
	}
	if n := len(in); n < s.batch && s.pads() {
		// The padded run reads the whole batch: repeat the last frame in
		// the tail. Memory never written (page-locked memory comes from
		// the driver as it is) can hold values that are not numbers, and
		// on CUDA an fp16 network's output for the real frames was then
		// wrong too (10.8 dB from the CPU's).
		fr := 3 * plane
		for f := n; f < s.batch; f++ {
			if s.half {
				copy(sl.inHalf[f*fr:(f+1)*fr], sl.inHalf[(n-1)*fr:n*fr])
			} else {
				copy(sl.inBuf[f*fr:(f+1)*fr], sl.inBuf[(n-1)*fr:n*fr])
			}
		}
	}
	sl.n = len(in)
	return nil
}

// pads reports whether a partial batch runs padded in the full batch's
// tensors (see Session) rather than in tensors of its own size.
func (s *Session) pads() bool { return s.fixedBatch || s.device.cuda }

// Exec runs the network on the frames last loaded into slot i.
func (s *Session) Exec(i int) error {
	if s.closed {
		return ErrClosed
	}
	if i < 0 || i >= len(s.slots) || s.slots[i].n == 0 {
		return fmt.Errorf("%w: exec of slot %d with nothing loaded", ErrFrames, i)
	}
	sl := s.slots[i]
	r, err := s.runnerFor(sl, sl.n)
	if err != nil {
		return err
	}
	if s.canceled.Load() {
		return ErrCanceled
	}
	if err := s.crun.run(r.rin, r.rout); err != nil {
		return s.runError(err)
	}
	return nil
}

// runError words ORT's error from a run of the network: canceled, the GPU
// out of memory, or the model's own limits, each with what to do.
func (s *Session) runError(err error) error {
	if s.canceled.Load() {
		return ErrCanceled
	}
	if s.device.cuda && mentions(strings.ToLower(err.Error()), gpuMemoryWords...) {
		return s.gpuMemoryError(err)
	}
	if s.freed != "" {
		return fmt.Errorf("%w: run %s on %s: the model was exported for input %s and does not run at %dx%d: %s", ErrModel, s.info.Path, s.device, s.freed, s.w, s.h, ortCore(oneLine(err.Error())))
	}
	if m := outShape.FindStringSubmatch(err.Error()); m != nil {
		return fmt.Errorf("%w: %s gives %s for a %s input: vidnst needs an image-to-image network whose output is its input's size", ErrNotImage, s.info.Path, m[2], m[1])
	}
	if min(s.w, s.h) < minSide {
		return fmt.Errorf("%w: %s does not run at %dx%d; run it at a larger size (ONNX Runtime: %s)", ErrTooSmall, s.info.Path, s.w, s.h, ortCore(oneLine(err.Error())))
	}
	return fmt.Errorf("%w: run %s on %s: %s", ErrModel, s.info.Path, s.device, ortCore(oneLine(err.Error())))
}

// gpuMemoryError says what ran out of GPU memory and what to lower: the
// batch, the runs at once (each holds its own set of the network's
// activations), or the size.
func (s *Session) gpuMemoryError(err error) error {
	var fix []string
	if s.batch > 1 {
		fix = append(fix, "a lower --batch")
	}
	if s.parallel > 1 {
		fix = append(fix, "VIDNST_PARALLEL=1")
	}
	fix = append(fix, "a smaller size (--max-side)")
	return fmt.Errorf("%w: %s ran out of GPU memory at %dx%d, batch %d, %d at once; try %s (ONNX Runtime: %s)", ErrModel, s.device, s.w, s.h, s.batch, s.parallel, strings.Join(fix, ", or "), ortCore(oneLine(err.Error())))
}

// minSide: a model that fails at a frame narrower or shorter than this is
// taken to fail for the frame's size (ErrTooSmall). The style networks
// pad by reflection, which needs more pixels than the pad on each side
// after every downsampling (candy runs at 8x8, fails at 4x4).
const minSide = 32

// outShape reads ORT's message for an output whose size differs from the
// tensor vidnst bound: "... has shape {1,3,120,160} but the computed
// output shape for this run is {1,3,60,80}".
var outShape = regexp.MustCompile(`has shape (\{[0-9,]+\}) but the computed output shape for this run is (\{[0-9,]+\})`)

// Store copies slot i's results into out (len(out) must be the number of
// frames loaded), converted back to 0..255, not clamped.
func (s *Session) Store(i int, out [][]float32) error {
	sl, err := s.slot(i, out, "output")
	if err != nil {
		return err
	}
	if len(out) != sl.n {
		return fmt.Errorf("%w: %d output frames for %d loaded", ErrFrames, len(out), sl.n)
	}
	plane := s.w * s.h
	if !s.checked.Swap(true) {
		// A network that overflows (an fp16 model on large values) or
		// divides by zero gives NaN or Inf, which an encoder turns into
		// black: say so on the first frame instead of writing a black film.
		n := 0
		if s.half {
			n = nonFiniteHalf(sl.outHalf[:3*plane])
		} else {
			n = nonFinite(sl.outBuf[:3*plane])
		}
		if n > 0 {
			return fmt.Errorf("%w: %s on %s gave %d values that are not finite numbers (NaN or Inf) of %d in its first frame; an fp16 model overflowing? (try without --fp16)", ErrModel, s.info.Path, s.device, n, 3*plane)
		}
	}
	for f := range out {
		for mc := range 3 {
			pc := s.chans[mc]
			lo, hi := (f*3+mc)*plane, (f*3+mc+1)*plane
			dst := out[f][pc*plane : (pc+1)*plane]
			switch {
			case s.half:
				half.ToFloat32s(dst, sl.outHalf[lo:hi])
				if !s.ident {
					affine(dst, dst, s.outA, s.outB)
				}
			case s.ident:
				copy(dst, sl.outBuf[lo:hi])
			default:
				affine(dst, sl.outBuf[lo:hi], s.outA, s.outB)
			}
		}
	}
	return nil
}

// nonFinite counts the NaN and infinite values in v.
func nonFinite(v []float32) int {
	n := 0
	for _, x := range v {
		if x-x != 0 { // NaN - NaN and Inf - Inf are NaN; finite - itself is 0
			n++
		}
	}
	return n
}

// runnerFor returns sl's runner for n frames, building it on first use.
func (s *Session) runnerFor(sl *slot, n int) (*runner, error) {
	if n == s.batch || s.pads() {
		return sl.full, nil
	}
	if r := sl.partial[n-1]; r != nil {
		return r, nil
	}
	r, err := s.newRunner(sl, n)
	if err != nil {
		return nil, fmt.Errorf("%w: partial batch of %d: %s", ErrModel, n, ortCore(oneLine(err.Error())))
	}
	sl.partial[n-1] = r
	return r, nil
}

func affine(dst, src []float32, a, b float32) {
	dst = dst[:len(src)]
	for j, v := range src {
		dst[j] = v*a + b
	}
}

// toHalf is affine into float16 (rounded to nearest even, as Cast does),
// through tmp a chunk at a time (small enough to stay in cache) so the
// rounding runs in hardware.
func toHalf(dst []uint16, src []float32, a, b float32, tmp []float32) {
	dst = dst[:len(src)]
	for lo := 0; lo < len(src); lo += len(tmp) {
		hi := min(lo+len(tmp), len(src))
		affine(tmp, src[lo:hi], a, b)
		half.FromFloat32s(dst[lo:hi], tmp[:hi-lo])
	}
}

// nonFiniteHalf counts the NaN and infinite float16 values in v.
func nonFiniteHalf(v []uint16) int {
	n := 0
	for _, h := range v {
		if h&0x7c00 == 0x7c00 {
			n++
		}
	}
	return n
}

// Close frees every ORT object the Session owns. It is idempotent; after
// it, Run returns ErrClosed.
func (s *Session) Close() error {
	if s == nil || s.closed {
		return nil
	}
	s.closed = true
	s.freeSlots()
	s.crun.close()
	if s.sess != nil {
		_ = s.sess.Destroy()
		s.sess = nil
	}
	if s.so != nil {
		_ = s.so.Destroy()
		s.so = nil
	}
	s.roMu.Lock()
	if s.ro != nil {
		_ = s.ro.Destroy()
		s.ro = nil
	}
	s.roMu.Unlock()
	liveSessions.Add(-1)
	return nil
}

// Batch is the most frames one Run takes.
func (s *Session) Batch() int { return s.batch }

// Size is the frame size the Session was built for.
func (s *Session) Size() (w, h int) { return s.w, s.h }

// Device is where inference runs: "cpu" or "cuda:N".
func (s *Session) Device() string { return s.device.String() }

// Fallback is why Device "auto" ended up on the CPU (an ErrNoCUDA error),
// nil when it did not fall back.
func (s *Session) Fallback() error { return s.fb }

// HalfIO reports whether the network runs with float16 input and output
// tensors (see halfIO): the Session rounds frames to float16 in Load and
// widens them in Store.
func (s *Session) HalfIO() bool { return s.half }

// Mend says what the session did to the model's float16 instance norms for
// CUDA, such as "fp16 norms: float32 (15)" (the mend, how many nodes it
// changed); "" when it ran the file as it is.
func (s *Session) Mend() string { return s.mend }

// Info is the model's description (shared, read-only).
func (s *Session) Info() *ModelInfo { return s.info }
