// Package par runs row kernels over a fixed set of worker goroutines.
package par

import (
	"runtime"
	"sync"
)

// Runner splits index ranges over a fixed set of worker goroutines, started
// on first use and stopped by Close. Kernels are passed as func values built
// once (method values stored in struct fields), so a call allocates nothing.
// A Runner is used from one goroutine at a time; its zero value runs
// everything on the caller's goroutine.
type Runner struct {
	workers int
	tasks   chan task
	wg      sync.WaitGroup
}

type task struct {
	fn     func(lo, hi int)
	lo, hi int
}

// FrameWorkers is the thread count for per-frame pixel work (a Runner's
// workers, an FFmpeg filter graph's threads) on frames of this many pixels:
// 0, meaning one per core, from 1 MP up, where scaling and converting on one
// thread held GPU renders back (1080p, 2 cores: filter graphs 20% and 12%
// faster per frame, decode's conversion ~7% more; decode's
// BenchmarkNext1080, encode's BenchmarkWrite1080); 1 below, where the work
// is small and the cores belong to the network.
func FrameWorkers(pixels int) int {
	if pixels >= 1<<20 {
		return 0
	}
	return 1
}

// New returns a Runner with this many workers (0 or less: GOMAXPROCS).
func New(workers int) Runner {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	return Runner{workers: workers}
}

// Run calls fn over [0, n) split into at most the Runner's workers
// contiguous parts (the caller's goroutine takes the first) and returns when
// all are done.
func (r *Runner) Run(n int, fn func(lo, hi int)) {
	k := min(r.workers, n)
	if k <= 1 {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	if r.tasks == nil {
		r.tasks = make(chan task, r.workers)
		for i := 1; i < r.workers; i++ {
			go work(r.tasks, &r.wg)
		}
	}
	r.wg.Add(k - 1)
	for i := 1; i < k; i++ {
		r.tasks <- task{fn, i * n / k, (i + 1) * n / k}
	}
	fn(0, n/k)
	r.wg.Wait()
}

func work(tasks <-chan task, wg *sync.WaitGroup) {
	for t := range tasks {
		t.fn(t.lo, t.hi)
		wg.Done()
	}
}

// Workers is how many parts Run splits a range into at most.
func (r *Runner) Workers() int { return r.workers }

// Close stops the workers (idempotent); a later Run starts new ones.
func (r *Runner) Close() {
	if r.tasks != nil {
		close(r.tasks)
		r.tasks = nil
	}
}
