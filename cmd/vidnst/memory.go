package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vidnst/vidnst/pipeline"
	"github.com/vidnst/vidnst/stylize"
)

// envMemory overrides memoryAvailable: bytes this process may use (for
// tests, and for a scheduler that enforces a limit the process cannot see).
const envMemory = "VIDNST_MEMORY"

// memoryAvailable is how many bytes this process may still use: Linux's
// MemAvailable, lowered to what its cgroup (a container, a Slurm job, a
// Kubernetes pod) has left under its limit; 0 when unknown.
func memoryAvailable() int64 {
	if v := os.Getenv(envMemory); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			return n
		}
	}
	avail := meminfoAvailable()
	if c := cgroupLeft(); c > 0 && (avail == 0 || c < avail) {
		avail = c
	}
	return avail
}

// meminfoAvailable is /proc/meminfo's MemAvailable in bytes (0: unknown).
func meminfoAvailable() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemAvailable:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

// cgroupLeft is the memory the process's cgroup and its parents have left
// under their limits (v2: memory.max - memory.current; v1:
// memory.limit_in_bytes - memory.usage_in_bytes), the least of them; 0
// when none has a limit or nothing can be read.
func cgroupLeft() int64 { return cgroupLeftAt("/proc/self/cgroup", "/sys/fs/cgroup") }

// cgroupLeftAt is cgroupLeft with the process's cgroup file and the
// cgroup file systems' mount point given (for tests).
func cgroupLeftAt(self, mount string) int64 {
	b, err := os.ReadFile(self)
	if err != nil {
		return 0
	}
	left := int64(0)
	note := func(limit, used int64) {
		if limit <= 0 || limit >= 1<<62 {
			return // "max", or v1's "no limit"
		}
		if l := max(limit-used, 1); left == 0 || l < left {
			left = l
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		var root, limitFile, usedFile, cacheKey string
		switch {
		case parts[0] == "0" && parts[1] == "":
			root, limitFile, usedFile, cacheKey = mount, "memory.max", "memory.current", "inactive_file"
		case strings.Contains(","+parts[1]+",", ",memory,"):
			root, limitFile, usedFile, cacheKey = filepath.Join(mount, "memory"), "memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file"
		default:
			continue
		}
		// The process's own group and each one above it; in a container
		// the path may not be there (its own root is mounted instead).
		// Used memory counts the file cache, which the kernel gives back
		// under pressure: its inactive part is left out, as the kubelet's
		// working set does.
		for p := filepath.Join(root, parts[2]); strings.HasPrefix(p, root); p = filepath.Dir(p) {
			used := readInt(filepath.Join(p, usedFile)) - statValue(filepath.Join(p, "memory.stat"), cacheKey)
			note(readInt(filepath.Join(p, limitFile)), max(used, 0))
			if p == root {
				break
			}
		}
	}
	return left
}

// statValue is the value of key in a memory.stat file (0 if absent).
func statValue(path, key string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && k == key {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// readInt reads a file holding one integer ("max" and errors: 0).
func readInt(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// renderMemory estimates the peak memory of a render whose network runs
// on the CPU at w x h, par frames at once, batch frames each: a base for
// the libraries, and per pixel the pipeline's frames plus about 0.9 KB
// for each frame inside the network. Measured on the style networks with
// the default temporal stage (BENCHMARKS.md, "Memory": 4.0 GB at 1080p and
// 14.9 GB at 4K with two frames at once, 2.2 and 8.2 GB with one); another
// network's layers may need more or less.
func renderMemory(w, h, par, batch int) int64 {
	return 200<<20 + int64(w)*int64(h)*(150+int64(max(par, 1)*max(batch, 1))*900)
}

// fitMemory runs the CPU session s with one frame at a time instead of two
// where two would not fit in the memory left (reopening it: about half the
// memory for about 10% of the speed; VIDNST_PARALLEL set by hand is left
// alone), then, where one would not fit either, with ONNX Runtime's arena
// off (Options.LowMemory), and warns when even that would not, with the
// --max-side that would. The caller gets the session to use; s is closed
// if replaced.
func fitMemory(o *renderOpts, s *stylize.Session, reopen func(parallel int, lowMemory bool) (*stylize.Session, error), w, h int, stderr io.Writer) (*stylize.Session, error) {
	avail := memoryAvailable()
	if s.Device() != "cpu" || avail <= 0 {
		return s, nil
	}
	gb := func(n int64) string { return fmt.Sprintf("%.1f GB", float64(n)/1e9) }
	if par := s.Parallel(); par > 1 && os.Getenv("VIDNST_PARALLEL") == "" && renderMemory(w, h, par, s.Batch()) > avail {
		s.Close()
		one, err := reopen(1, false)
		if err != nil {
			return nil, err
		}
		if !o.quiet {
			what := "one frame at a time: two"
			if b := one.Batch(); b > 1 {
				what = fmt.Sprintf("one batch of %d at a time: two", b)
			}
			fmt.Fprintf(stderr, "vidnst: note: the network runs %s at %dx%d would need about %s of memory and %s is left\n", what, w, h, gb(renderMemory(w, h, par, one.Batch())), gb(avail))
		}
		s = one
	}
	need := renderMemory(w, h, s.Parallel(), s.Batch())
	if need > avail {
		// Last: ONNX Runtime's arena off, 0.6-0.75x the memory for
		// 1.4-1.6x the time (BENCHMARKS.md, "Memory").
		par := s.Parallel()
		s.Close()
		low, err := reopen(par, true)
		if err != nil {
			return nil, err
		}
		s = low
		if !o.quiet {
			fmt.Fprintf(stderr, "vidnst: note: the network runs with less memory, and slower (1.4-1.6x the time): it would need about %s and %s is left\n", gb(need), gb(avail))
		}
		need = need * 3 / 4
	}
	if need > avail && !o.quiet {
		hint := ""
		for _, side := range []int{2560, 1920, 1280, 960, 640, 384} {
			sw, sh := pipeline.ProcessingSize(w, h, side, 0, 0)
			if need := renderMemory(sw, sh, 1, s.Batch()); sw*sh < w*h && need <= avail {
				hint = fmt.Sprintf("; --max-side %d (%dx%d) would need about %s", side, sw, sh, gb(need))
				if s.Batch() > 1 {
					hint += fmt.Sprintf(" at --batch %d", s.Batch())
				}
				break
			}
		}
		fmt.Fprintf(stderr, "vidnst: warning: the network at %dx%d on the CPU needs about %s of memory and %s is left: the system may stop it%s\n", w, h, gb(need), gb(avail), hint)
	}
	return s, nil
}
