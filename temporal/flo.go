package temporal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
)

// floMagic is the tag that starts a Middlebury .flo file.
const floMagic = 202021.25

// UnknownFlow is the value .flo files use for pixels without ground truth
// (any component with magnitude above 1e9 is unknown).
const UnknownFlow = 1e10

// knownFlow reports whether (u, v) is a valid ground-truth vector.
func knownFlow(u, v float32) bool {
	return !(math.Abs(float64(u)) > 1e9 || math.Abs(float64(v)) > 1e9 ||
		math.IsNaN(float64(u)) || math.IsNaN(float64(v)))
}

// ReadFlo reads a Middlebury .flo file: float32 magic 202021.25, int32
// width, int32 height, then width*height (u, v) float32 pairs, row-major,
// little-endian. The returned slices are newly allocated and owned by the
// caller; unknown vectors are kept as they are in the file (see EPE).
func ReadFlo(r io.Reader) (u, v []float32, w, h int, err error) {
	var hdr struct {
		Magic float32
		W, H  int32
	}
	if err := binary.Read(r, binary.LittleEndian, &hdr); err != nil {
		return nil, nil, 0, 0, fmt.Errorf("temporal: reading .flo header: %w", err)
	}
	if hdr.Magic != floMagic {
		return nil, nil, 0, 0, errors.New("temporal: not a .flo file (bad magic)")
	}
	if hdr.W <= 0 || hdr.H <= 0 || int64(hdr.W)*int64(hdr.H) > 1<<28 {
		return nil, nil, 0, 0, fmt.Errorf("temporal: .flo size %dx%d out of range", hdr.W, hdr.H)
	}
	w, h = int(hdr.W), int(hdr.H)
	// In blocks, the slices growing with what the file really holds: a
	// header that claims a huge size over a few bytes of data costs
	// little memory before it fails.
	br := bufio.NewReader(r)
	n := w * h
	blk := make([]float32, 2*min(n, 4096))
	u, v = make([]float32, 0, min(n, 1<<20)), make([]float32, 0, min(n, 1<<20))
	for len(u) < n {
		b := blk[:2*min(n-len(u), len(blk)/2)]
		if err := binary.Read(br, binary.LittleEndian, b); err != nil {
			return nil, nil, 0, 0, fmt.Errorf("temporal: reading .flo data (%d of %d vectors read): %w", len(u), n, err)
		}
		for i := 0; i < len(b); i += 2 {
			u, v = append(u, b[i]), append(v, b[i+1])
		}
	}
	return u, v, w, h, nil
}

// WriteFlo writes the flow (u, v) of a w x h image as a .flo file.
func WriteFlo(wr io.Writer, u, v []float32, w, h int) error {
	if w <= 0 || h <= 0 || len(u) < w*h || len(v) < w*h {
		return errors.New("temporal: WriteFlo: bad size")
	}
	bw := bufio.NewWriter(wr)
	hdr := []any{float32(floMagic), int32(w), int32(h)}
	for _, x := range hdr {
		if err := binary.Write(bw, binary.LittleEndian, x); err != nil {
			return fmt.Errorf("temporal: writing .flo: %w", err)
		}
	}
	var b [8]byte
	for i := 0; i < w*h; i++ {
		binary.LittleEndian.PutUint32(b[:4], math.Float32bits(u[i]))
		binary.LittleEndian.PutUint32(b[4:], math.Float32bits(v[i]))
		if _, err := bw.Write(b[:]); err != nil {
			return fmt.Errorf("temporal: writing .flo: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("temporal: writing .flo: %w", err)
	}
	return nil
}

// EPE returns the mean endpoint error between the flow (u, v) and the
// ground truth (gu, gv), over the pixels whose ground truth is known. It
// returns NaN when no pixel is known.
func EPE(u, v, gu, gv []float32) float64 {
	var s float64
	n := 0
	for i := range gu {
		if !knownFlow(gu[i], gv[i]) {
			continue
		}
		du, dv := float64(u[i]-gu[i]), float64(v[i]-gv[i])
		s += math.Sqrt(du*du + dv*dv)
		n++
	}
	if n == 0 {
		return math.NaN()
	}
	return s / float64(n)
}

// colour wheel of Baker et al. (Middlebury flow-code): hue by direction,
// saturation by magnitude.
var wheel = func() [][3]float64 {
	const ry, yg, gc, cb, bm, mr = 15, 6, 4, 11, 13, 6
	var c [][3]float64
	for i := 0; i < ry; i++ {
		c = append(c, [3]float64{255, 255 * float64(i) / ry, 0})
	}
	for i := 0; i < yg; i++ {
		c = append(c, [3]float64{255 - 255*float64(i)/yg, 255, 0})
	}
	for i := 0; i < gc; i++ {
		c = append(c, [3]float64{0, 255, 255 * float64(i) / gc})
	}
	for i := 0; i < cb; i++ {
		c = append(c, [3]float64{0, 255 - 255*float64(i)/cb, 255})
	}
	for i := 0; i < bm; i++ {
		c = append(c, [3]float64{255 * float64(i) / bm, 0, 255})
	}
	for i := 0; i < mr; i++ {
		c = append(c, [3]float64{255, 0, 255 - 255*float64(i)/mr})
	}
	return c
}()

// FlowImage renders the flow (u, v) of a w x h image with the Middlebury
// colour coding (Baker et al. 2011): direction is hue, magnitude is
// saturation, normalised by maxMag (<= 0: the largest known magnitude).
// Unknown vectors are black. The image is newly allocated.
func FlowImage(u, v []float32, w, h int, maxMag float64) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	if maxMag <= 0 {
		for i := 0; i < w*h; i++ {
			if knownFlow(u[i], v[i]) {
				maxMag = math.Max(maxMag, math.Hypot(float64(u[i]), float64(v[i])))
			}
		}
	}
	if maxMag <= 0 {
		maxMag = 1
	}
	nc := len(wheel)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*w + x
			if !knownFlow(u[i], v[i]) {
				img.SetNRGBA(x, y, color.NRGBA{A: 255})
				continue
			}
			fu, fv := float64(u[i])/maxMag, float64(v[i])/maxMag
			rad := math.Hypot(fu, fv)
			a := math.Atan2(-fv, -fu) / math.Pi
			fk := (a + 1) / 2 * float64(nc-1)
			k0 := int(fk)
			k1 := (k0 + 1) % nc
			f := fk - float64(k0)
			var px [3]uint8
			for c := 0; c < 3; c++ {
				col := ((1-f)*wheel[k0][c] + f*wheel[k1][c]) / 255
				if rad <= 1 {
					col = 1 - rad*(1-col)
				} else {
					col *= 0.75
				}
				px[c] = uint8(math.Round(255 * col))
			}
			img.SetNRGBA(x, y, color.NRGBA{px[0], px[1], px[2], 255})
		}
	}
	return img
}
