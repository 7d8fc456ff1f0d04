package main

import (
	"github.com/vidnst/vidnst/pipeline"
)

// controlledStyler applies --strength and --preserve-color to the network's
// output, in place, right after inference.
type controlledStyler struct {
	pipeline.Styler
	strength      float32
	preserveColor bool
	n             int // pixels per frame
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
