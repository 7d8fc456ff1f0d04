package main

import (
	"math"
	"testing"
)

// FuzzTimeSpecs: the parsers of --start/--end/--duration/--at, --frames
// and --size take any string without panicking and give back only what
// they promise: finite times of 0 or more, 0 <= A <= B, sizes in range
// (`go test ./cmd/vidnst -run '^$' -fuzz FuzzTimeSpecs`).
func FuzzTimeSpecs(f *testing.F) {
	for _, s := range []string{"12.5", "00:01:02.500", "1:02", "25f", "nan", "infinity", "1e308", "0x1p4", "3-9", "96x64", "-1", ":", "1:60", "9999999999999999999f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ts, err := parseTimeSpec("start", s); err == nil && ts.set {
			if ts.frames && ts.n < 0 || !ts.frames && (math.IsNaN(ts.sec) || math.IsInf(ts.sec, 0) || ts.sec < 0) {
				t.Fatalf("parseTimeSpec(%q) = %+v", s, ts)
			}
		}
		if a, b, err := parseFrames(s); err == nil && (a < 0 || b < a) {
			t.Fatalf("parseFrames(%q) = %d, %d", s, a, b)
		}
		if w, h, err := parseSize(s); err == nil && (w < 4 || h < 4 || w > maxProcessingSide || h > maxProcessingSide) {
			t.Fatalf("parseSize(%q) = %dx%d", s, w, h)
		}
	})
}
