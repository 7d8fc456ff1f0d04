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
