package main

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/vidnst/vidnst/internal/testmedia"
)

// Where two frames in the network would not fit in the memory left, the
// CPU session runs one at a time, and where one would not either, a
// warning says so with the --max-side that fits.
func TestMemoryFit(t *testing.T) {
	dir := t.TempDir()
	id, _ := tinyModels(t, dir)
	in := testmedia.Clip(t, dir, "in.mp4", 64, 48, 25, 4, false)
	two, one := renderMemory(64, 48, 2, 1), renderMemory(64, 48, 1, 1)
	for _, tc := range []struct {
		name          string
		avail         int64
		runners       string
		note, warning bool
	}{
		{"plenty", two + 1, "(2 runners)", false, false},
		{"one fits", one + 1, "(1 runners)", true, false},
		{"none fits", one / 2, "(1 runners)", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(envMemory, strconv.FormatInt(tc.avail, 10))
			code, stdout, stderr := vidnst(t, "bench", in, "--style", id, "--threads", "2", "--bench-frames", "4", "--repeats", "1")
			note := strings.Contains(stderr, "vidnst: note: the network runs one frame at a time: two at 64x48 would need about 0.2 GB of memory")
			warning := strings.Contains(stderr, "vidnst: warning: the network at 64x48 on the CPU needs about 0.2 GB of memory and 0.1 GB is left: the system may stop it\n")
			if code != 0 || !strings.Contains(stdout, tc.runners) || note != tc.note || warning != tc.warning {
				t.Errorf("exit %d\n%s%s", code, stdout, stderr)
			}
		})
	}
	// VIDNST_PARALLEL by hand is kept.
	t.Setenv(envMemory, strconv.FormatInt(one+1, 10))
	t.Setenv("VIDNST_PARALLEL", "2")
	if _, stdout, stderr := vidnst(t, "bench", in, "--style", id, "--threads", "2", "--bench-frames", "4", "--repeats", "1"); !strings.Contains(stdout, "(2 runners)") || strings.Contains(stderr, "one frame at a time") {
		t.Errorf("VIDNST_PARALLEL=2 with little memory:\n%s%s", stdout, stderr)
	}
}

// The memory left is read from the system: Linux has MemAvailable, and a
// cgroup's limit (a container's) only lowers it.
func TestMemoryAvailable(t *testing.T) {
	if _, err := os.Stat("/proc/meminfo"); err != nil {
		t.Skip("SKIPPED: no /proc/meminfo")
	}
	t.Setenv(envMemory, "")
	m, c := meminfoAvailable(), cgroupLeft()
	if m <= 0 {
		t.Fatalf("MemAvailable: %d", m)
	}
	if got := memoryAvailable(); got <= 0 || got > m || (c > 0 && got > c) {
		t.Errorf("memoryAvailable %d, MemAvailable %d, cgroup %d", got, m, c)
	}
	t.Setenv(envMemory, "12345")
	if got := memoryAvailable(); got != 12345 {
		t.Errorf("%s=12345: %d", envMemory, got)
	}
}
