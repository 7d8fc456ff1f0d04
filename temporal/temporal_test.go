package temporal

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// texture returns Dimetrodon's first frame (grey, 0..255) as a real-world
// texture, skipping the test loudly when the data is absent.
func texture(t testing.TB) ([]float32, int, int) {
	return loadGray(t, filepath.Join(flowDir(t), "Dimetrodon", "frame10.png"))
}

// sampleCubic samples a grey image at (x, y) with the Catmull-Rom kernel.
func sampleCubic(img []float32, w, h int, x, y float32) float32 {
	var out [1]float32
	u, v := []float32{x}, []float32{y}
	_ = u
	_ = v
	ix, iy := floorInt(x), floorInt(y)
	wx0, wx1, wx2, wx3 := cubicWeights(x - float32(ix))
	wy0, wy1, wy2, wy3 := cubicWeights(y - float32(iy))
	wxs := [4]float32{wx0, wx1, wx2, wx3}
	wys := [4]float32{wy0, wy1, wy2, wy3}
	for j := 0; j < 4; j++ {
		yy := min(max(iy-1+j, 0), h-1)
		for k := 0; k < 4; k++ {
			xx := min(max(ix-1+k, 0), w-1)
			out[0] += wys[j] * wxs[k] * img[yy*w+xx]
		}
	}
	return out[0]
}

// transformPair makes frame 2 of a synthetic pair: frame2(y) = frame1(
// inv(y)), where fwd maps a frame-1 pixel to its frame-2 position. The
// ground-truth flow frame1 -> frame2 is fwd(x) - x, unknown (UnknownFlow)
// within margin pixels of the border or where fwd(x) leaves the frame.
func transformPair(img []float32, w, h int, fwd, inv func(x, y float64) (float64, float64), margin int) (i1, gu, gv []float32) {
	i1 = make([]float32, w*h)
	gu, gv = make([]float32, w*h), make([]float32, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			sx, sy := inv(float64(x), float64(y))
			i1[y*w+x] = sampleCubic(img, w, h, float32(sx), float32(sy))
			tx, ty := fwd(float64(x), float64(y))
			p := y*w + x
			gu[p], gv[p] = float32(tx-float64(x)), float32(ty-float64(y))
			m := float64(margin)
			if x < margin || y < margin || x >= w-margin || y >= h-margin ||
				tx < m || ty < m || tx > float64(w)-1-m || ty > float64(h)-1-m {
				gu[p], gv[p] = UnknownFlow, UnknownFlow
			}
		}
	}
	return
}

func TestFlowSynthetic(t *testing.T) {
	img, w, h := texture(t)
	cx, cy := float64(w)/2, float64(h)/2
	rot := func(a float64) (func(x, y float64) (float64, float64), func(x, y float64) (float64, float64)) {
		r := func(a float64) func(x, y float64) (float64, float64) {
			s, c := math.Sincos(a)
			return func(x, y float64) (float64, float64) {
				dx, dy := x-cx, y-cy
				return cx + c*dx - s*dy, cy + s*dx + c*dy
			}
		}
		return r(a), r(-a)
	}
	zoom := func(k float64) (func(x, y float64) (float64, float64), func(x, y float64) (float64, float64)) {
		return func(x, y float64) (float64, float64) { return cx + k*(x-cx), cy + k*(y-cy) },
			func(x, y float64) (float64, float64) { return cx + (x-cx)/k, cy + (y-cy)/k }
	}
	shift := func(dx, dy float64) (func(x, y float64) (float64, float64), func(x, y float64) (float64, float64)) {
		return func(x, y float64) (float64, float64) { return x + dx, y + dy },
			func(x, y float64) (float64, float64) { return x - dx, y - dy }
	}
	type xf = func(x, y float64) (float64, float64)
	for _, tc := range []struct {
		name     string
		fwd, inv xf
		preset   Preset
		maxEPE   float64
	}{
		// Bars about 1.5-2x the measured EPE (zero flow scores 1.5-15).
		{"shift-int", nil, nil, PresetMedium, 0.08},
		{"shift-subpixel", nil, nil, PresetMedium, 0.3},
		{"shift-large", nil, nil, PresetMedium, 0.3},
		{"rotate-3deg", nil, nil, PresetMedium, 0.25},
		{"zoom-1.05", nil, nil, PresetMedium, 0.25},
		{"shift-subpixel-fast", nil, nil, PresetFast, 0.4},
		{"rotate-3deg-fast", nil, nil, PresetFast, 0.6},
	} {
		switch tc.name {
		case "shift-int":
			tc.fwd, tc.inv = shift(3, -2)
		case "shift-subpixel", "shift-subpixel-fast":
			tc.fwd, tc.inv = shift(2.35, 1.6)
		case "shift-large":
			tc.fwd, tc.inv = shift(-14.5, 9.25)
		case "rotate-3deg", "rotate-3deg-fast":
			tc.fwd, tc.inv = rot(3 * math.Pi / 180)
		case "zoom-1.05":
			tc.fwd, tc.inv = zoom(1.05)
		}
		t.Run(tc.name, func(t *testing.T) {
			i1, gu, gv := transformPair(img, w, h, tc.fwd, tc.inv, 8)
			e := NewEstimator(w, h, tc.preset, 0)
			defer e.Close()
			u, v := make([]float32, w*h), make([]float32, w*h)
			e.Compute(img, i1, u, v)
			epe := EPE(u, v, gu, gv)
			t.Logf("%s: EPE %.4f (bar %.2f)", tc.name, epe, tc.maxEPE)
			if !(epe <= tc.maxEPE) {
				t.Errorf("%s: EPE %.4f > %.2f", tc.name, epe, tc.maxEPE)
			}
		})
	}
}

func TestFlowDeterministicAcrossWorkers(t *testing.T) {
	img, w, h := texture(t)
	i1, _, _ := transformPair(img, w, h,
		func(x, y float64) (float64, float64) { return x + 1.3, y - 0.6 },
		func(x, y float64) (float64, float64) { return x - 1.3, y + 0.6 }, 8)
	var ref []float32
	for _, workers := range []int{1, 2, 3} {
		e := NewEstimator(w, h, PresetMedium, workers)
		u, v := make([]float32, w*h), make([]float32, w*h)
		e.Compute(img, i1, u, v)
		e.Close()
		if ref == nil {
			ref = append(u, v...)
			continue
		}
		for i := range u {
			if u[i] != ref[i] || v[i] != ref[w*h+i] {
				t.Fatalf("workers=%d: flow differs from workers=1 at %d", workers, i)
			}
		}
	}
}

func TestFlowZeroAllocs(t *testing.T) {
	w, h := 160, 96
	a, b := make([]float32, w*h), make([]float32, w*h)
	rng := rand.New(rand.NewSource(1))
	for i := range a {
		a[i] = 255 * rng.Float32()
		b[i] = a[i]
	}
	u, v := make([]float32, w*h), make([]float32, w*h)
	for _, p := range []Preset{PresetFast, PresetMedium} {
		e := NewEstimator(w, h, p, 2)
		e.Compute(a, b, u, v)
		if n := testing.AllocsPerRun(3, func() { e.Compute(a, b, u, v) }); n != 0 {
			t.Errorf("%s: %v allocations per Compute, want 0", p, n)
		}
		e.Close()
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		mode Mode
		ok   bool
	}{{"off", Off, true}, {"blend", Blend, true}, {"Gradient", Gradient, true}, {"", 0, false}, {"warp", 0, false}} {
		m, err := ParseMode(tc.in)
		if (err == nil) != tc.ok || (tc.ok && m != tc.mode) {
			t.Errorf("ParseMode(%q) = %v, %v", tc.in, m, err)
		}
		if tc.ok && m.String() != lower(tc.in) {
			t.Errorf("%v.String() = %q", m, m.String())
		}
	}
	for _, tc := range []struct {
		in string
		p  Preset
		ok bool
	}{{"fast", PresetFast, true}, {"MEDIUM", PresetMedium, true}, {"ultrafast", 0, false}} {
		p, err := ParsePreset(tc.in)
		if (err == nil) != tc.ok || (tc.ok && p != tc.p) {
			t.Errorf("ParsePreset(%q) = %v, %v", tc.in, p, err)
		}
	}
}

func lower(s string) string { return string(bytes.ToLower([]byte(s))) }

func TestFloRoundTripAndEPE(t *testing.T) {
	w, h := 5, 3
	u, v := make([]float32, w*h), make([]float32, w*h)
	for i := range u {
		u[i], v[i] = float32(i)*0.5, -float32(i)
	}
	u[4], v[4] = UnknownFlow, UnknownFlow
	var buf bytes.Buffer
	if err := WriteFlo(&buf, u, v, w, h); err != nil {
		t.Fatal(err)
	}
	u2, v2, w2, h2, err := ReadFlo(&buf)
	if err != nil || w2 != w || h2 != h {
		t.Fatalf("ReadFlo: %v %dx%d", err, w2, h2)
	}
	for i := range u {
		if u[i] != u2[i] || v[i] != v2[i] {
			t.Fatalf("value %d: %v,%v != %v,%v", i, u2[i], v2[i], u[i], v[i])
		}
	}
	est := make([]float32, w*h)
	copy(est, u)
	est[4] = 1000 // unknown ground truth there: must be skipped
	zero := make([]float32, w*h)
	// est differs from u only at the unknown pixel; v compared with zero.
	want := 0.0
	cnt := 0
	for i := range v {
		if i != 4 {
			want += math.Abs(float64(v[i]))
			cnt++
		}
	}
	want /= float64(cnt)
	if got := EPE(est, zero, u, v); math.Abs(got-want) > 1e-6 {
		t.Errorf("EPE = %v, want %v", got, want)
	}
	if _, _, _, _, err := ReadFlo(bytes.NewReader([]byte("not a flo file"))); err == nil {
		t.Error("ReadFlo accepted garbage")
	}
	// More vectors than one read block (4096), and a file cut short.
	bw, bh := 97, 61
	bu, bv := make([]float32, bw*bh), make([]float32, bw*bh)
	for i := range bu {
		bu[i], bv[i] = float32(i), -float32(i)/3
	}
	buf.Reset()
	if err := WriteFlo(&buf, bu, bv, bw, bh); err != nil {
		t.Fatal(err)
	}
	whole := bytes.Clone(buf.Bytes())
	if u2, v2, _, _, err := ReadFlo(bytes.NewReader(whole)); err != nil || !slices.Equal(u2, bu) || !slices.Equal(v2, bv) {
		t.Fatalf("ReadFlo of %dx%d: %v", bw, bh, err)
	}
	if _, _, _, _, err := ReadFlo(bytes.NewReader(whole[:len(whole)-4])); err == nil || !strings.Contains(err.Error(), "of 5917 vectors read") {
		t.Errorf("ReadFlo of a cut file: %v", err)
	}
	// A header claiming 16384x16384 over 8 bytes of data fails without
	// allocating the 2 GiB it claims.
	hdr := binary.LittleEndian.AppendUint32(nil, math.Float32bits(floMagic))
	hdr = binary.LittleEndian.AppendUint32(hdr, 16384)
	hdr = binary.LittleEndian.AppendUint32(hdr, 16384)
	hdr = append(hdr, make([]byte, 8)...)
	var err2 error
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, _, _, err2 = ReadFlo(bytes.NewReader(hdr))
	runtime.ReadMemStats(&after)
	if err2 == nil {
		t.Error("ReadFlo accepted a header over 8 bytes of data")
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Errorf("ReadFlo of a lying header allocated %d MiB", grew>>20)
	}
	img := FlowImage(u, v, w, h, 0)
	if img.Bounds().Dx() != w || img.NRGBAAt(4%w, 4/w).R != 0 {
		t.Error("FlowImage: unknown pixel not black")
	}
	if c := FlowImage([]float32{0}, []float32{0}, 1, 1, 1).NRGBAAt(0, 0); c.R != 255 || c.G != 255 || c.B != 255 {
		t.Errorf("zero flow colour %v, want white", c)
	}
}

// planar3 makes a planar RGB image from a grey one with per-channel gains.
func planar3(g []float32, gains [3]float32) []float32 {
	n := len(g)
	out := make([]float32, 3*n)
	for c := 0; c < 3; c++ {
		for i, x := range g {
			out[c*n+i] = gains[c] * x
		}
	}
	return out
}

func TestWarpIntegerShiftExact(t *testing.T) {
	img, w, h := texture(t)
	src := planar3(img, [3]float32{1, 0.5, 0.25})
	n := w * h
	u, v := make([]float32, n), make([]float32, n)
	for i := range u {
		u[i], v[i] = 3, -2
	}
	dst := make([]float32, 3*n)
	Warp(dst, src, 3, w, h, u, v)
	for c := 0; c < 3; c++ {
		for y := 2; y < h-3; y++ {
			for x := 0; x < w-3; x++ {
				if got, want := dst[c*n+y*w+x], src[c*n+(y-2)*w+x+3]; got != want {
					t.Fatalf("c%d (%d,%d): %v, want %v", c, x, y, got, want)
				}
			}
		}
	}
	// A sub-pixel shift back and forth keeps the image close (bicubic).
	for i := range u {
		u[i], v[i] = 0.5, 0.5
	}
	tmp := make([]float32, 3*n)
	Warp(tmp, src, 3, w, h, u, v)
	for i := range u {
		u[i], v[i] = -0.5, -0.5
	}
	Warp(dst, tmp, 3, w, h, u, v)
	var e float64
	cnt := 0
	for y := 4; y < h-4; y++ {
		for x := 4; x < w-4; x++ {
			d := float64(dst[y*w+x] - src[y*w+x])
			e += d * d
			cnt++
		}
	}
	if rms := math.Sqrt(e / float64(cnt)); rms > 4 {
		t.Errorf("half-pixel round trip RMS %.2f grey levels, want <= 4", rms)
	}
}

func TestConfidenceMasks(t *testing.T) {
	w, h := 64, 48
	n := w * h
	bu, bv, fu, fv := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	// A square moves 6 px right between t-1 and t over a static background.
	for y := 20; y < 36; y++ {
		for x := 20; x < 36; x++ {
			fu[y*w+x] = 6 // t-1 -> t
		}
		for x := 26; x < 42; x++ {
			bu[y*w+x] = -6 // t -> t-1
		}
	}
	conf, tmp := make([]float32, n), make([]float32, n)
	occ := Confidence(conf, tmp, bu, bv, fu, fv, w, h)
	// Background revealed at x in [20, 26): occluded in t-1.
	for y := 21; y < 35; y++ {
		for x := 21; x < 25; x++ {
			if conf[y*w+x] != 0 {
				t.Fatalf("revealed pixel (%d,%d) confidence %v, want 0", x, y, conf[y*w+x])
			}
		}
	}
	if occ <= 0 || occ > 0.1 {
		t.Errorf("occluded fraction %v", occ)
	}
	// Far from the square everything is trusted, the square's inside too.
	for _, p := range [][2]int{{5, 5}, {60, 44}, {33, 28}} {
		if c := conf[p[1]*w+p[0]]; c != 1 {
			t.Errorf("pixel %v confidence %v, want 1", p, c)
		}
	}
	// The motion boundary at the square's right edge is rejected.
	if c := conf[28*w+41]; c != 0 {
		t.Errorf("motion boundary confidence %v, want 0", c)
	}
	// Flow pointing out of the frame is not trusted.
	for i := range bu {
		bu[i], fu[i] = -3, 3
	}
	for i := range bv {
		bv[i], fv[i] = 0, 0
	}
	Confidence(conf, tmp, bu, bv, fu, fv, w, h)
	if conf[10*w+0] != 0 || conf[10*w+30] != 1 {
		t.Errorf("out-of-frame confidence %v, inside %v", conf[10*w+0], conf[10*w+30])
	}
}

func TestSceneCut(t *testing.T) {
	dir := flowDir(t)
	a, w, h := loadRGB(t, filepath.Join(dir, "Venus", "frame10.png"))
	b, w2, h2 := loadRGB(t, filepath.Join(dir, "Dimetrodon", "frame10.png"))
	// Crop Dimetrodon to Venus's size.
	n := w * h
	bc := make([]float32, 3*n)
	for c := 0; c < 3; c++ {
		for y := 0; y < h; y++ {
			copy(bc[c*n+y*w:c*n+y*w+w], b[c*w2*h2+y*w2:c*w2*h2+y*w2+w])
		}
	}
	s, err := NewStage(w, h, Options{Mode: Blend, Weight: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	outA := append([]float32(nil), a...)
	if cut := s.Process(a, outA, true); cut {
		t.Fatal("cut reported on a reset frame")
	}
	// Same frame again: no cut, and with weight 1 the output is the
	// previous output wherever confident.
	outA2 := make([]float32, 3*n)
	if cut := s.Process(a, outA2, false); cut {
		t.Fatal("cut reported on an identical frame")
	}
	// Unrelated frame: cut, and the output is left as stylized.
	outB := append([]float32(nil), bc...)
	if cut := s.Process(bc, outB, false); !cut {
		t.Fatalf("no cut between unrelated images (occluded fraction %.2f)", s.LastOccludedFraction())
	}
	for i := range outB {
		if outB[i] != bc[i] {
			t.Fatal("output modified across a cut")
		}
	}
	// Caller reset: output untouched too.
	outB2 := append([]float32(nil), bc...)
	s.Process(bc, outB2, true)
	for i := range outB2 {
		if outB2[i] != bc[i] {
			t.Fatal("output modified on reset")
		}
	}
}

// flickerSequence is a moving real texture (input frames) and a "stylized"
// version with per-frame flicker: a global colour gain/offset change and
// a smooth random field, different every frame.
func flickerSequence(t testing.TB, frames int) (ins, outs [][]float32, w, h int) {
	img, iw, ih := texture(t)
	w, h = 256, 192
	rng := rand.New(rand.NewSource(7))
	n := w * h
	for k := 0; k < frames; k++ {
		dx, dy := 40+1.3*float32(k), 30+0.7*float32(k)
		g := make([]float32, n)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				g[y*w+x] = sampleCubic(img, iw, ih, float32(x)+dx, float32(y)+dy)
			}
		}
		in := planar3(g, [3]float32{1, 0.9, 0.8})
		// smooth noise: coarse 8x6 grid of random values, bilinear
		grid := make([]float32, 9*7)
		for i := range grid {
			grid[i] = 25 * (rng.Float32() - 0.5)
		}
		out := make([]float32, 3*n)
		gain := [3]float32{1 + 0.1*(rng.Float32()-0.5), 1 + 0.1*(rng.Float32()-0.5), 1 + 0.1*(rng.Float32()-0.5)}
		for c := 0; c < 3; c++ {
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					nz, _ := bilinear2(grid, grid, 9, 7, float32(x)/32, float32(y)/32)
					out[c*n+y*w+x] = gain[c]*in[c*n+y*w+x] + nz
				}
			}
		}
		ins, outs = append(ins, in), append(outs, out)
	}
	return
}

func TestStageReducesFlicker(t *testing.T) {
	ins, styl, w, h := flickerSequence(t, 8)
	measure := func(outs [][]float32) (ew, grad float64) {
		m := NewWarpError(w, h, 0)
		defer m.Close()
		for k := 1; k < len(outs); k++ {
			m.Add(ins[k-1], ins[k], outs[k-1], outs[k])
			grad += GradientMean(outs[k], w, h)
		}
		return m.Mean(), grad / float64(len(outs)-1)
	}
	offE, offG := measure(styl)
	for _, tc := range []struct {
		mode    Mode
		weight  float32
		maxSide int // FlowMaxSide: 128 computes the flow at half size
	}{{Blend, 0.9, 0}, {Blend, 1, 0}, {Gradient, 0.9, 0}, {Gradient, 1, 0}, {Gradient, 1, 128}, {Blend, 1, 128}} {
		s, err := NewStage(w, h, Options{Mode: tc.mode, Weight: tc.weight, FlowMaxSide: tc.maxSide})
		if err != nil {
			t.Fatal(err)
		}
		var outs [][]float32
		for k := range ins {
			o := append([]float32(nil), styl[k]...)
			if cut := s.Process(ins[k], o, k == 0); cut {
				t.Errorf("%v: cut at frame %d", tc.mode, k)
			}
			outs = append(outs, o)
		}
		s.Close()
		e, g := measure(outs)
		t.Logf("%v a=%.2f flow 1/%d: E_warp %.5f vs off %.5f (ratio %.3f), detail ratio %.3f", tc.mode, tc.weight, s.f, e, offE, e/offE, g/offG)
		if e > 0.3*offE {
			t.Errorf("%v a=%.2f: E_warp ratio %.3f > 0.30", tc.mode, tc.weight, e/offE)
		}
		if g < 0.9*offG {
			t.Errorf("%v a=%.2f: detail ratio %.3f < 0.90", tc.mode, tc.weight, g/offG)
		}
	}
}

// Flow at a reduced size (FlowMaxSide) is upsampled into aux in full-size
// pixels: a known translation of a real texture comes back within a
// fraction of a pixel, and the flow size is the expected power of two.
func TestStageFlowAtReducedSize(t *testing.T) {
	img, w, h := texture(t)
	const dx, dy = 3.25, -1.5
	i1, _, _ := transformPair(img, w, h,
		func(x, y float64) (float64, float64) { return x + dx, y + dy },
		func(x, y float64) (float64, float64) { return x - dx, y - dy }, 0)
	rgb := func(g []float32) []float32 {
		return append(append(append([]float32(nil), g...), g...), g...)
	}
	for _, tc := range []struct{ maxSide, f int }{{-1, 1}, {400, 2}, {150, 4}} {
		s, err := NewStage(w, h, Options{Mode: Blend, FlowMaxSide: tc.maxSide})
		if err != nil {
			t.Fatal(err)
		}
		if s.f != tc.f {
			t.Errorf("FlowMaxSide %d on %dx%d: flow at 1/%d, want 1/%d", tc.maxSide, w, h, s.f, tc.f)
		}
		aux := make([]float32, s.AuxLen())
		s.PrepareAux(rgb(img), true, aux)
		s.PrepareAux(rgb(i1), false, aux)
		s.Close()
		n := w * h
		var sum float64
		var cnt int
		for y := h / 8; y < h-h/8; y++ {
			for x := w / 8; x < w-w/8; x++ {
				p := y*w + x
				// backward flow: from frame 2 back to frame 1
				eu, ev := float64(aux[1+p])+dx, float64(aux[1+n+p])+dy
				sum += math.Sqrt(eu*eu + ev*ev)
				cnt++
			}
		}
		epe := sum / float64(cnt)
		t.Logf("flow at 1/%d: interior EPE %.3f px", s.f, epe)
		if epe > 0.25*float64(tc.f) {
			t.Errorf("flow at 1/%d: interior EPE %.3f px", s.f, epe)
		}
	}
}

func TestStageZeroAllocs(t *testing.T) {
	w, h := 96, 64
	n := w * h
	rng := rand.New(rand.NewSource(3))
	in, out := make([]float32, 3*n), make([]float32, 3*n)
	for i := range in {
		in[i] = 255 * rng.Float32()
	}
	for _, mode := range []Mode{Blend, Gradient} {
		s, err := NewStage(w, h, Options{Mode: mode, Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		aux := make([]float32, s.AuxLen())
		s.PrepareAux(in, true, aux)
		s.ApplyAux(out, aux)
		if a := testing.AllocsPerRun(3, func() {
			s.PrepareAux(in, false, aux)
			s.ApplyAux(out, aux)
		}); a != 0 {
			t.Errorf("%v: %v allocations per frame, want 0", mode, a)
		}
		s.Close()
	}
}

// TestNewStageRejectsBadOptions: options that cannot work give an error
// naming them, not a panic later.
func TestNewStageRejectsBadOptions(t *testing.T) {
	for _, tc := range []struct {
		w, h int
		opt  Options
		want string
	}{
		{8, 64, Options{Mode: Blend}, "too small"},
		{64, 64, Options{Mode: Blend, Weight: 1.5}, "weight"},
		{64, 64, Options{Mode: Gradient, Weight: -0.5}, "weight"},
		{64, 64, Options{Mode: Gradient, GradientSweeps: -1, Workers: 2}, "gradient sweeps"},
	} {
		s, err := NewStage(tc.w, tc.h, tc.opt)
		if err == nil {
			s.Close()
			t.Fatalf("%dx%d %+v: no error", tc.w, tc.h, tc.opt)
		}
		if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "temporal: ") {
			t.Errorf("%dx%d %+v: %v, want temporal: ...%s...", tc.w, tc.h, tc.opt, err, tc.want)
		}
	}
}
