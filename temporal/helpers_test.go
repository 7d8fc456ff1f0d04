package temporal

import (
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// VIDNST_NOSIMD=1 runs the package's benchmarks on the Go loops (what
// CPUs without AVX2 run): VIDNST_NOSIMD=1 go test ./temporal -run '^$'
// -bench ... (the SIMD-vs-Go tests set haveSIMD themselves).
func init() {
	if os.Getenv("VIDNST_NOSIMD") == "1" {
		haveSIMD = false
	}
}

// sharedDir returns the shared data folder (flow pairs, notes), or "" when
// absent: $VIDNST_SHARED, else ../shared relative to the repository root.
func sharedDir() string {
	if d := os.Getenv("VIDNST_SHARED"); d != "" {
		return d
	}
	for _, d := range []string{"../../shared", "../shared", "/work/shared"} {
		if st, err := os.Stat(filepath.Join(d, "flow")); err == nil && st.IsDir() {
			return d
		}
	}
	return ""
}

// flowDir returns the Middlebury folder or skips the test loudly.
func flowDir(tb testing.TB) string {
	d := sharedDir()
	if d == "" {
		tb.Skip("SKIPPING: Middlebury flow data not found (set $VIDNST_SHARED to the folder holding flow/, or put it at ../shared)")
	}
	return filepath.Join(d, "flow")
}

// loadRGB reads a PNG as planar RGB 0..255.
func loadRGB(tb testing.TB, path string) ([]float32, int, int) {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		tb.Fatal(err)
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := make([]float32, 3*w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, g, bb, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			i := y*w + x
			out[i] = float32(r >> 8)
			out[w*h+i] = float32(g >> 8)
			out[2*w*h+i] = float32(bb >> 8)
		}
	}
	return out, w, h
}

// loadGray reads a PNG as grey 0..255.
func loadGray(tb testing.TB, path string) ([]float32, int, int) {
	rgb, w, h := loadRGB(tb, path)
	g := make([]float32, w*h)
	Gray(g, rgb, w, h)
	return g, w, h
}

// loadFlo reads a .flo file.
func loadFlo(tb testing.TB, path string) ([]float32, []float32, int, int) {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	u, v, w, h, err := ReadFlo(f)
	if err != nil {
		tb.Fatal(err)
	}
	return u, v, w, h
}

var _ = image.Rect
