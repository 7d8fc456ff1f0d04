package main

import (
	"github.com/vidnst/vidnst/internal/frame"
	"github.com/vidnst/vidnst/pipeline"
)

// controlledTemporal applies --strength and --preserve-color after the
// temporal stage, which steadies the stylized frames and keeps them as its
// state: the blend with the original comes last, so --strength 0 gives the
// input back (blended first, the stage smeared the original picture).
type controlledTemporal struct {
	temporalStage
	strength      float32
	preserveColor bool
	n             int // pixels per frame
}

func (c *controlledTemporal) Apply(f *frame.Frame) error {
	if err := c.temporalStage.Apply(f); err != nil {
		return err
	}
	applyControls(f.In, f.Out, c.n, c.strength, c.preserveColor)
	return nil
}

// controlledStyler applies --strength and --preserve-color to the network's
// output, in place, right after inference (when there is no temporal
// stage; see controlledTemporal).
type controlledStyler struct {
	pipeline.Styler
	strength      float32
	preserveColor bool
	n             int // pixels per frame
	// loaded[slot] are the inputs last loaded into each slot of a Slotted
	// network (references to the frames' In, valid until Store).
	loaded [][][]float32
}

// Slots is the network's slot count (1 when it is not Slotted).
func (c *controlledStyler) Slots() int {
	if x, ok := c.Styler.(pipeline.Slotted); ok {
		return x.Slots()
	}
	return 1
}

// Parallel is how many slots the network may run at once (1 when it does
// not say).
func (c *controlledStyler) Parallel() int {
	if x, ok := c.Styler.(interface{ Parallel() int }); ok {
		return x.Parallel()
	}
	return 1
}

// Load, Exec and Store pass on to a Slotted network; Store then applies the
// controls with the inputs Load saw.
func (c *controlledStyler) Load(slot int, in [][]float32) error {
	x := c.Styler.(pipeline.Slotted)
	if c.loaded == nil {
		c.loaded = make([][][]float32, x.Slots())
	}
	c.loaded[slot] = append(c.loaded[slot][:0], in...)
	return x.Load(slot, in)
}

func (c *controlledStyler) Exec(slot int) error { return c.Styler.(pipeline.Slotted).Exec(slot) }

func (c *controlledStyler) Store(slot int, out [][]float32) error {
	if err := c.Styler.(pipeline.Slotted).Store(slot, out); err != nil {
		return err
	}
	for i, in := range c.loaded[slot] {
		applyControls(in, out[i], c.n, c.strength, c.preserveColor)
	}
	return nil
}

func (c *controlledStyler) Run(in, out [][]float32) error {
	if err := c.Styler.Run(in, out); err != nil {
		return err
	}
	for i := range in {
		applyControls(in[i], out[i], c.n, c.strength, c.preserveColor)
	}
	return nil
}

// applyControls rewrites out (planar RGB, n pixels) from the stylized frame
// and the original in: with preserveColor, the stylized frame's luminance
// with the original's chroma (Gatys et al. 2016, luminance transfer, in
// BT.601 YCbCr); then a blend with the original by strength.
func applyControls(in, out []float32, n int, strength float32, preserveColor bool) {
	ir, ig, ib := in[:n:n], in[n:2*n:2*n], in[2*n:3*n:3*n]
	or, og, ob := out[:n:n], out[n:2*n:2*n], out[2*n:3*n:3*n]
	for p := 0; p < n; p++ {
		r, g, b := or[p], og[p], ob[p]
		if preserveColor {
			ys := 0.299*r + 0.587*g + 0.114*b
			yi := 0.299*ir[p] + 0.587*ig[p] + 0.114*ib[p]
			d := ys - yi // keep the input's Cb, Cr: shift every channel by the luminance change
			r, g, b = ir[p]+d, ig[p]+d, ib[p]+d
		}
		if strength < 1 {
			r = ir[p] + strength*(r-ir[p])
			g = ig[p] + strength*(g-ig[p])
			b = ib[p] + strength*(b-ib[p])
		}
		or[p], og[p], ob[p] = r, g, b
	}
}

// Cancel passes a cancel on to the network.
func (c *controlledStyler) Cancel() {
	if x, ok := c.Styler.(pipeline.Canceler); ok {
		x.Cancel()
	}
}
