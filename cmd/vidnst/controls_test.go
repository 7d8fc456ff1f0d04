package main

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/vidnst/vidnst/internal/testmedia"
	"github.com/vidnst/vidnst/pipeline"
)

// slottedDouble doubles every value through Load/Exec/Store on its slots
// (and through Run), like a double-buffered GPU session.
type slottedDouble struct {
	slots int
	buf   [][][]float32
}

func (d *slottedDouble) Batch() int { return 2 }
func (d *slottedDouble) Run(in, out [][]float32) error {
	for i := range in {
		for j, v := range in[i] {
			out[i][j] = 2 * v
		}
	}
	return nil
}
func (d *slottedDouble) Slots() int { return d.slots }
func (d *slottedDouble) Load(slot int, in [][]float32) error {
	if d.buf == nil {
		d.buf = make([][][]float32, d.slots)
	}
	d.buf[slot] = d.buf[slot][:0]
	for _, f := range in {
		d.buf[slot] = append(d.buf[slot], append([]float32(nil), f...))
	}
	return nil
}
func (d *slottedDouble) Exec(slot int) error {
	for _, f := range d.buf[slot] {
		for j := range f {
			f[j] *= 2
		}
	}
	return nil
}
func (d *slottedDouble) Store(slot int, out [][]float32) error {
	for i := range out {
		copy(out[i], d.buf[slot][i])
	}
	return nil
}

// --strength and --preserve-color apply the same way whether the network
// is run whole (Run) or double-buffered (Load, Exec, Store on two slots,
// interleaved as the pipeline does).
func TestControlsOnSlottedStyler(t *testing.T) {
	const n = 4 // pixels
	in := [][]float32{{10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}}
	whole := &controlledStyler{Styler: &slottedDouble{slots: 1}, strength: 0.5, preserveColor: true, n: n}
	want := [][]float32{make([]float32, 3*n), make([]float32, 3*n)}
	if err := whole.Run(in, want); err != nil {
		t.Fatal(err)
	}
	c := &controlledStyler{Styler: &slottedDouble{slots: 2}, strength: 0.5, preserveColor: true, n: n}
	var s pipeline.Slotted = c
	if s.Slots() != 2 {
		t.Fatalf("%d slots, want the network's 2", s.Slots())
	}
	got := [][]float32{make([]float32, 3*n), make([]float32, 3*n)}
	for _, err := range []error{s.Load(0, in[:1]), s.Load(1, in[1:]), s.Exec(0), s.Exec(1), s.Store(1, got[1:]), s.Store(0, got[:1])} {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range want {
		for j := range want[i] {
			if d := got[i][j] - want[i][j]; d > 1e-4 || d < -1e-4 {
				t.Fatalf("frame %d value %d: slotted %v, whole %v", i, j, got[i][j], want[i][j])
			}
		}
	}
	if (&controlledStyler{Styler: &plainDouble{}}).Slots() != 1 {
		t.Error("a network without slots must report 1")
	}
}

type plainDouble struct{ slottedDouble }

func (p *plainDouble) Slots() int { return 1 }

// --strength 0 gives the input back with the temporal stage on as well:
// the controls come after it (blended before, the stage smeared the
// original picture).
func TestStrengthZeroWithTemporal(t *testing.T) {
	dir := t.TempDir()
	_, sp := tinyModels(t, dir)
	in := testmedia.Clip(t, dir, "in.mp4", 96, 64, 25, 12, false)
	var outs [2][][]byte
	for i, mode := range []string{"off", defaultTemporal} {
		out := filepath.Join(dir, mode+".mp4")
		mustRun(t, in, out, "--style", sp, "--strength", "0", "--temporal", mode, "--crf", "0", "--progress", "none")
		outs[i] = testmedia.FramesRGB(t, out, 96, 64, 12)
	}
	for k := range outs[0] {
		if !bytes.Equal(outs[0][k], outs[1][k]) {
			t.Fatalf("frame %d differs between --temporal off and %s at --strength 0", k, defaultTemporal)
		}
	}
}
