package temporal

import (
	"path/filepath"
	"testing"
)

var middleburyPairs = []string{"Dimetrodon", "RubberWhale", "Venus"}

// middleburyEPE runs preset p on the three pairs and returns the EPEs.
func middleburyEPE(t *testing.T, p Preset) []float64 {
	dir := flowDir(t)
	var out []float64
	for _, name := range middleburyPairs {
		i0, w, h := loadGray(t, filepath.Join(dir, name, "frame10.png"))
		i1, _, _ := loadGray(t, filepath.Join(dir, name, "frame11.png"))
		gu, gv, fw, fh := loadFlo(t, filepath.Join(dir, name, "flow10.flo"))
		if fw != w || fh != h {
			t.Fatalf("%s: flow %dx%d, image %dx%d", name, fw, fh, w, h)
		}
		e := NewEstimator(w, h, p, 0)
		u, v := make([]float32, w*h), make([]float32, w*h)
		e.Compute(i0, i1, u, v)
		e.Close()
		epe := EPE(u, v, gu, gv)
		t.Logf("%s %s: EPE %.3f", p, name, epe)
		out = append(out, epe)
	}
	return out
}

func TestMiddlebury(t *testing.T) {
	for _, tc := range []struct {
		p   Preset
		max float64 // bar on the mean EPE over the three pairs
	}{
		{PresetMedium, 0.26},
		{PresetFast, 0.45},
	} {
		t.Run(tc.p.String(), func(t *testing.T) {
			epes := middleburyEPE(t, tc.p)
			m := (epes[0] + epes[1] + epes[2]) / 3
			t.Logf("%s: mean EPE %.3f (bar %.3f)", tc.p, m, tc.max)
			if m > tc.max {
				t.Errorf("%s: mean EPE %.3f > %.3f", tc.p, m, tc.max)
			}
		})
	}
}
