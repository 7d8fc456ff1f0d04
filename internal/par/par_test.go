package par

import (
	"sync/atomic"
	"testing"
)

// Run visits every index of [0, n) exactly once, for any split; the zero
// Runner runs on the caller; Close is idempotent and a later Run restarts.
func TestRunCoversOnce(t *testing.T) {
	for _, workers := range []int{0, 1, 3, 8} {
		r := New(workers)
		if workers == 0 {
			r = Runner{}
		}
		for _, n := range []int{0, 1, 2, 7, 100} {
			hits := make([]atomic.Int32, n)
			r.Run(n, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					hits[i].Add(1)
				}
			})
			for i := range hits {
				if h := hits[i].Load(); h != 1 {
					t.Fatalf("workers %d, n %d: index %d visited %d times", workers, n, i, h)
				}
			}
		}
		r.Close()
		r.Close()
		ran := false
		r.Run(1, func(lo, hi int) { ran = hi == 1 })
		if !ran {
			t.Fatalf("workers %d: Run after Close did nothing", workers)
		}
		r.Close()
	}
}

func TestFrameWorkers(t *testing.T) {
	for _, tc := range []struct{ pixels, want int }{{384 * 216, 1}, {768 * 432, 1}, {1 << 20, 0}, {1920 * 1080, 0}} {
		if got := FrameWorkers(tc.pixels); got != tc.want {
			t.Errorf("FrameWorkers(%d) = %d, want %d", tc.pixels, got, tc.want)
		}
	}
}
