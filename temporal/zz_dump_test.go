package temporal

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestZZDump(t *testing.T) {
	out := os.Getenv("FLOWDUMP")
	if out == "" {
		t.Skip()
	}
	dir := flowDir(t)
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range []Preset{PresetMedium, PresetFast} {
		for _, name := range middleburyPairs {
			i0, w, h := loadGray(t, filepath.Join(dir, name, "frame10.png"))
			i1, _, _ := loadGray(t, filepath.Join(dir, name, "frame11.png"))
			e := NewEstimator(w, h, p, 1)
			u, v := make([]float32, w*h), make([]float32, w*h)
			e.Compute(i0, i1, u, v)
			e.Close()
			b := make([]byte, 4)
			for i := range u {
				binary.LittleEndian.PutUint32(b, math.Float32bits(u[i]))
				f.Write(b)
				binary.LittleEndian.PutUint32(b, math.Float32bits(v[i]))
				f.Write(b)
			}
		}
	}
}
