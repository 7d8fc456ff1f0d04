package temporal

import (
	"fmt"
	"path/filepath"
	"testing"
)

// upscale2 doubles a grey image (bilinear), to benchmark near 1 megapixel.
func upscale2(src []float32, w, h int) []float32 {
	out := make([]float32, 4*w*h)
	for y := 0; y < 2*h; y++ {
		sy := min(max((float32(y)+0.5)/2-0.5, 0), float32(h-1))
		y0 := int(sy)
		y1 := min(y0+1, h-1)
		ay := sy - float32(y0)
		for x := 0; x < 2*w; x++ {
			sx := min(max((float32(x)+0.5)/2-0.5, 0), float32(w-1))
			x0 := int(sx)
			x1 := min(x0+1, w-1)
			ax := sx - float32(x0)
			a := src[y0*w+x0] + ax*(src[y0*w+x1]-src[y0*w+x0])
			b := src[y1*w+x0] + ax*(src[y1*w+x1]-src[y1*w+x0])
			out[y*2*w+x] = a + ay*(b-a)
		}
	}
	return out
}

func benchFlow(b *testing.B, p Preset) {
	dir := flowDir(b)
	i0, w, h := loadGray(b, filepath.Join(dir, "RubberWhale", "frame10.png"))
	i1, _, _ := loadGray(b, filepath.Join(dir, "RubberWhale", "frame11.png"))
	i0, i1, w, h = upscale2(i0, w, h), upscale2(i1, w, h), 2*w, 2*h
	for _, workers := range []int{1, 0} {
		name := "workers=1"
		if workers == 0 {
			name = "workers=all"
		}
		b.Run(fmt.Sprintf("%s/%dx%d", name, w, h), func(b *testing.B) {
			e := NewEstimator(w, h, p, workers)
			u, v := make([]float32, w*h), make([]float32, w*h)
			e.Compute(i0, i1, u, v) // warm up
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				e.Compute(i0, i1, u, v)
			}
			mp := float64(w*h) / 1e6
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N)/mp, "ms/MP")
		})
	}
}

// BenchmarkFlowMedium: go test -run '^$' -bench 'Flow' -benchtime 10x ./temporal/
func BenchmarkFlowMedium(b *testing.B) { benchFlow(b, PresetMedium) }
func BenchmarkFlowFast(b *testing.B)   { benchFlow(b, PresetFast) }
