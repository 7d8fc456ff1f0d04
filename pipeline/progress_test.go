package pipeline

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// The last report of a finished run says so, and a total that was an
// estimate (a container without a frame count) becomes the real count.
func TestReporterDone(t *testing.T) {
	for _, mode := range []ProgressMode{ProgressJSON, ProgressLines, ProgressBar} {
		var b bytes.Buffer
		r := NewReporter(mode, &b, 110)
		clock := r.start
		r.now = func() time.Time { clock = clock.Add(time.Second); return clock }
		r.Update(1)
		r.Done(109)
		out := b.String()
		lines := strings.Split(strings.TrimRight(strings.ReplaceAll(out, "\r", "\n"), "\n"), "\n")
		last := lines[len(lines)-1]
		switch mode {
		case ProgressJSON:
			var m map[string]any
			if err := json.Unmarshal([]byte(last), &m); err != nil || m["done"] != true || m["frames"] != 109.0 || m["total"] != 109.0 || m["percent"] != 100.0 {
				t.Errorf("json: last line %q (%v)", last, err)
			}
		default:
			if !strings.Contains(last, "109/109 frames") || !strings.Contains(last, "100.0%") || !strings.HasSuffix(out, "\n") {
				t.Errorf("mode %d: %q", mode, out)
			}
		}
	}
	var b bytes.Buffer
	NewReporter(ProgressNone, &b, 5).Done(5)
	if b.Len() != 0 {
		t.Errorf("none: %q", b.String())
	}
}

// A run that reaches its total reports 100% once (from Done), and
// skipped frames do not count toward the rate.
func TestReporterOnceAndSkip(t *testing.T) {
	var b bytes.Buffer
	r := NewReporter(ProgressLines, &b, 10)
	clock := r.start
	r.now = func() time.Time { clock = clock.Add(10 * time.Second); return clock }
	r.Skip(6)
	r.Update(6)
	r.Update(10)
	r.Done(10)
	out := b.String()
	if n := strings.Count(out, "100.0%"); n != 1 {
		t.Errorf("%d lines at 100%%:\n%s", n, out)
	}
	// 6 skipped at 10 s: 0 fps; 10 done at 30 s, 4 of them worked: 0.1 fps (not 0.3).
	if !strings.Contains(out, "6/10 frames 60.0% 0.0 fps") || !strings.Contains(out, "10/10 frames 100.0% 0.1 fps") {
		t.Errorf("rates count the skipped frames:\n%s", out)
	}
}
