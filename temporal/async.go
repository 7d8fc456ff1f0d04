package temporal

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// asyncPrep is the Prepare/Apply path of a Stage with several lanes: Prepare
// makes the frame's grey image (cheap, in frame order) and queues its flow;
// each lane's goroutine computes the flows of the frames it takes, so
// several frames' flows run at once; Apply waits for its frame's flow.
// Everything is allocated by newAsyncPrep.
type asyncPrep struct {
	s        *Stage
	ring     [][]float32      // grey images, frame t in ring[t%len(ring)]
	users    []sync.WaitGroup // per ring entry: queued flows that read it
	jobs     []prepJob        // frame t's flow in jobs[t%len(jobs)]
	queue    chan *prepJob
	t        int          // frames prepared (Prepare's goroutine)
	a        int          // frames applied (Apply's goroutine)
	prepared atomic.Int64 // t, for Apply's check
	applied  atomic.Int64 // a, for Prepare's check
	lanes    sync.WaitGroup
}

type prepJob struct {
	gray, prevGray []float32
	ra, rb         int // ring entries read
	aux            []float32
	done           chan struct{}
}

// maxPending bounds the frames between Prepare and Apply (a pipeline holds
// far fewer: its frame pool is smaller).
const maxPending = 128

func newAsyncPrep(s *Stage, lanes int) *asyncPrep {
	p := &asyncPrep{s: s, queue: make(chan *prepJob, lanes)}
	fn := s.fw * s.fh
	p.ring = make([][]float32, 2*lanes+2)
	for i := range p.ring {
		p.ring[i] = make([]float32, fn)
	}
	p.users = make([]sync.WaitGroup, len(p.ring))
	p.jobs = make([]prepJob, maxPending)
	for i := range p.jobs {
		p.jobs[i].done = make(chan struct{}, 1)
	}
	for _, l := range s.lanes {
		p.lanes.Add(1)
		go func() {
			defer p.lanes.Done()
			for j := range p.queue {
				l.flow(j.gray, j.prevGray, false, j.aux)
				p.users[j.ra].Done()
				p.users[j.rb].Done()
				j.done <- struct{}{}
			}
		}()
	}
	return p
}

// prepare is Prepare for the next frame.
func (p *asyncPrep) prepare(in []float32, reset bool, aux []float32) error {
	if p.t-int(p.applied.Load()) >= maxPending {
		return fmt.Errorf("temporal: Prepare is %d frames ahead of Apply (at most %d)", p.t-int(p.applied.Load()), maxPending)
	}
	s := p.s
	r := p.t % len(p.ring)
	p.users[r].Wait() // the flows that read the entry's last image are done
	s.makeGray(in, p.ring[r])
	j := &p.jobs[p.t%len(p.jobs)]
	p.t++
	defer p.prepared.Store(int64(p.t))
	if reset || !s.havePrev {
		s.havePrev = true
		aux[0] = auxFlagReset
		j.done <- struct{}{}
		return nil
	}
	q := (r + len(p.ring) - 1) % len(p.ring)
	j.gray, j.prevGray, j.ra, j.rb, j.aux = p.ring[r], p.ring[q], r, q, aux
	p.users[r].Add(1)
	p.users[q].Add(1)
	p.queue <- j
	return nil
}

// wait blocks until the flow of the next frame to apply is done.
func (p *asyncPrep) wait() error {
	if int64(p.a) >= p.prepared.Load() {
		return fmt.Errorf("temporal: Apply without Prepare")
	}
	j := &p.jobs[p.a%len(p.jobs)]
	<-j.done
	j.gray, j.prevGray, j.aux = nil, nil, nil
	p.a++
	p.applied.Store(int64(p.a))
	return nil
}

// close stops the lanes' goroutines after the flows in hand.
func (p *asyncPrep) close() {
	close(p.queue)
	p.lanes.Wait()
}
