package temporal

import (
	"runtime"
	"sync"
)

// runner splits index ranges over goroutines. Kernels are passed as func
// values built once (method values stored in struct fields), so a call
// allocates nothing: goroutines come from the runtime's free list and take
// their arguments on their stack.
type runner struct {
	workers int
	wg      sync.WaitGroup
}

func newRunner(workers int) runner {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	return runner{workers: workers}
}

// run calls fn over [0, n) split into at most r.workers contiguous parts,
// one per goroutine (the caller's goroutine takes the first), and returns
// when all parts are done.
func (r *runner) run(n int, fn func(lo, hi int)) {
	k := r.workers
	if k > n {
		k = n
	}
	if k <= 1 {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	r.wg.Add(k - 1)
	for i := 1; i < k; i++ {
		go runPart(&r.wg, fn, i*n/k, (i+1)*n/k)
	}
	fn(0, n/k)
	r.wg.Wait()
}

func runPart(wg *sync.WaitGroup, fn func(lo, hi int), lo, hi int) {
	fn(lo, hi)
	wg.Done()
}
