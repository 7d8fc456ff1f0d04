package pipeline

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// ProgressMode is how progress is shown.
type ProgressMode int

// Progress modes: a redrawn bar (terminals), plain lines every few seconds
// (logs, farm managers), JSON lines, nothing.
const (
	ProgressBar ProgressMode = iota
	ProgressLines
	ProgressJSON
	ProgressNone
)

// ParseProgress parses --progress (auto picks bar on a terminal, else
// lines).
func ParseProgress(s string, terminal bool) (ProgressMode, error) {
	switch s {
	case "", "auto":
		if terminal {
			return ProgressBar, nil
		}
		return ProgressLines, nil
	case "bar":
		return ProgressBar, nil
	case "lines":
		return ProgressLines, nil
	case "json":
		return ProgressJSON, nil
	case "none":
		return ProgressNone, nil
	}
	return 0, fmt.Errorf("--progress %q: want auto, bar, lines, json or none", s)
}

// Reporter prints progress of a render of Total frames (0 = unknown).
// Update may be called from any goroutine.
type Reporter struct {
	Mode     ProgressMode
	W        io.Writer
	Total    int
	Interval time.Duration // between lines (default 5 s; bars redraw at most 10 times a second)
	Label    string        // prefix, e.g. "chunk 3"

	mu      sync.Mutex
	start   time.Time
	last    time.Time
	done    int
	skipped int // of done: counted without work (not in the rate)
	now     func() time.Time
}

// NewReporter starts the clock.
func NewReporter(mode ProgressMode, w io.Writer, total int) *Reporter {
	r := &Reporter{Mode: mode, W: w, Total: total, now: time.Now}
	r.start = r.now()
	return r
}

// Update records that done frames are finished.
func (r *Reporter) Update(done int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done = done
	now := r.now()
	iv := r.Interval
	switch r.Mode {
	case ProgressNone:
		return
	case ProgressBar:
		if iv == 0 {
			iv = 100 * time.Millisecond
		}
	default:
		if iv == 0 {
			iv = 5 * time.Second
		}
	}
	// At done == Total, Done prints the finished state (once).
	if now.Sub(r.last) < iv || done == r.Total {
		return
	}
	r.last = now
	r.print(now, false)
}

// Skip records that n of the frames Update counts took no work (outputs
// already there): they count toward done but not toward the rate.
func (r *Reporter) Skip(n int) {
	r.mu.Lock()
	r.skipped += n
	r.mu.Unlock()
}

// Finish ends the bar's line (after an error: the message goes on a line
// of its own).
func (r *Reporter) Finish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Mode == ProgressBar && r.done > 0 {
		fmt.Fprintln(r.W)
	}
}

// Done reports a finished run of done frames: the last state, at 100%
// (a total that was an estimate becomes the real count), with "done":
// true in JSON; then it ends the bar's line.
func (r *Reporter) Done(done int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Mode == ProgressNone {
		return
	}
	r.done = done
	if r.Total > 0 {
		r.Total = done
	}
	r.print(r.now(), true)
	if r.Mode == ProgressBar {
		fmt.Fprintln(r.W)
	}
}

func (r *Reporter) print(now time.Time, final bool) {
	el := now.Sub(r.start).Seconds()
	fps := 0.0
	if el > 0 {
		fps = float64(max(r.done-r.skipped, 0)) / el
	}
	pct, eta := -1.0, time.Duration(-1)
	if r.Total > 0 {
		pct = 100 * float64(r.done) / float64(r.Total)
		if fps > 0 {
			eta = time.Duration(float64(r.Total-r.done) / fps * float64(time.Second)).Round(time.Second)
		}
	}
	label := ""
	if r.Label != "" {
		label = r.Label + " "
	}
	switch r.Mode {
	case ProgressJSON:
		m := map[string]any{"frames": r.done, "fps": round2(fps), "elapsed_s": round2(el)}
		if r.Label != "" {
			m["label"] = r.Label
		}
		if r.Total > 0 {
			m["total"] = r.Total
			m["percent"] = round2(pct)
			if eta >= 0 {
				m["eta_s"] = eta.Seconds()
			}
		}
		if final {
			m["done"] = true
		}
		b, _ := json.Marshal(m)
		fmt.Fprintf(r.W, "%s\n", b)
	case ProgressLines:
		if r.Total > 0 {
			fmt.Fprintf(r.W, "progress: %s%d/%d frames %.1f%% %.1f fps eta %s\n", label, r.done, r.Total, pct, fps, fmtETA(eta))
		} else {
			fmt.Fprintf(r.W, "progress: %s%d frame%s %.1f fps\n", label, r.done, plural(r.done), fps)
		}
	case ProgressBar:
		const width = 30
		bar := ""
		if r.Total > 0 {
			n := int(float64(width) * float64(r.done) / float64(r.Total))
			if n > width {
				n = width
			}
			bar = "[" + strings.Repeat("=", n) + strings.Repeat(" ", width-n) + "] "
			fmt.Fprintf(r.W, "\r%s%s%d/%d frames %5.1f%% %5.1f fps eta %-8s", label, bar, r.done, r.Total, pct, fps, fmtETA(eta))
		} else {
			fmt.Fprintf(r.W, "\r%s%d frames %5.1f fps", label, r.done, fps)
		}
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func fmtETA(d time.Duration) string {
	if d < 0 {
		return "?"
	}
	return d.String()
}

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }

// ProcessingSize is the size the network runs at for a display size w x h:
// maxSide bounds the longer side (0: none), width/height force one side
// (the other keeps the aspect ratio) or both. Both sides are rounded to a
// multiple of 4 (the style networks' two stride-2 layers), at least 4;
// under maxSide alone, never past it (down to a multiple of 4).
func ProcessingSize(w, h, maxSide, width, height int) (int, int) {
	fw, fh := float64(w), float64(h)
	switch {
	case width > 0 && height > 0:
		fw, fh = float64(width), float64(height)
	case width > 0:
		fw, fh = float64(width), fh*float64(width)/fw
	case height > 0:
		fw, fh = fw*float64(height)/fh, float64(height)
	case maxSide > 0:
		if w > maxSide || h > maxSide {
			s := float64(maxSide) / max(fw, fh)
			fw, fh = fw*s, fh*s
		}
		lim := max(4, maxSide/4*4)
		return min(round4(fw), lim), min(round4(fh), lim)
	}
	return round4(fw), round4(fh)
}

func round4(v float64) int {
	n := int(v/4+0.5) * 4
	if n < 4 {
		n = 4
	}
	return n
}
