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
	prepared atomic.Int64 // frames prepared (written by Prepare's goroutine)
	applied  atomic.Int64 // frames applied (written by Apply's goroutine)
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
	t := int(p.prepared.Load())
	if ahead := t - int(p.applied.Load()); ahead >= maxPending {
		return fmt.Errorf("temporal: Prepare is %d frames ahead of Apply (at most %d)", ahead, maxPending)
	}
	s := p.s
	r := t % len(p.ring)
	p.users[r].Wait() // the flows that read the entry's last image are done
	s.makeGray(in, p.ring[r])
	j := &p.jobs[t%len(p.jobs)]
	defer p.prepared.Add(1)
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
	a := p.applied.Load()
	if a >= p.prepared.Load() {
		return fmt.Errorf("temporal: Apply without Prepare")
	}
	j := &p.jobs[a%int64(len(p.jobs))]
	<-j.done
	j.gray, j.prevGray, j.aux = nil, nil, nil
	p.applied.Add(1)
	return nil
}

// close stops the lanes' goroutines after the flows in hand.
func (p *asyncPrep) close() {
	close(p.queue)
	p.lanes.Wait()
}
