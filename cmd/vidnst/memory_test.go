package main

import (
	"os"
	"path/filepath"
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
		name              string
		avail             int64
		runners           string
		one, low, warning bool
	}{
		{"plenty", two + 1, "(2 runners)", false, false, false},
		{"one fits", one + 1, "(1 runners)", true, false, false},
		{"one fits with less memory", one - 1, "(1 runners)", true, true, false},
		{"none fits", one / 2, "(1 runners)", true, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(envMemory, strconv.FormatInt(tc.avail, 10))
			code, stdout, stderr := vidnst(t, "bench", in, "--style", id, "--threads", "2", "--bench-frames", "4", "--repeats", "1")
			oneNote := strings.Contains(stderr, "vidnst: note: the network runs one frame at a time: two at 64x48 would need about 0.2 GB of memory")
			lowNote := strings.Contains(stderr, "vidnst: note: the network runs with less memory, and slower (1.4-1.6x the time): it would need about 0.2 GB")
			warning := strings.Contains(stderr, "vidnst: warning: the network at 64x48 on the CPU needs about 0.2 GB of memory and 0.1 GB is left: the system may stop it\n")
			if code != 0 || !strings.Contains(stdout, tc.runners) || oneNote != tc.one || lowNote != tc.low || warning != tc.warning {
				t.Errorf("exit %d\n%s%s", code, stdout, stderr)
			}
		})
	}
	// VIDNST_PARALLEL by hand is kept.
	t.Setenv(envMemory, strconv.FormatInt(one+1, 10))
	t.Setenv("VIDNST_PARALLEL", "2")
	if _, stdout, stderr := vidnst(t, "bench", in, "--style", id, "--threads", "2", "--bench-frames", "4", "--repeats", "1"); !strings.Contains(stdout, "(2 runners)") || strings.Contains(stderr, "one frame at a time") || !strings.Contains(stderr, "runs with less memory") {
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

// A cgroup's limit less what it uses, its inactive file cache not counted
// (the kernel gives that back), the least over the group and its parents;
// v1 and v2, and no limit.
func TestCgroupLeft(t *testing.T) {
	write := func(p, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	self := filepath.Join(dir, "self")
	// v2: the job's group has 8 GB, uses 5 GB of which 3 GB inactive
	// cache; its parent has no limit.
	write(self, "0::/job/step\n")
	write(filepath.Join(dir, "fs", "job", "step", "memory.max"), "8000000000\n")
	write(filepath.Join(dir, "fs", "job", "step", "memory.current"), "5000000000\n")
	write(filepath.Join(dir, "fs", "job", "step", "memory.stat"), "anon 2000000000\ninactive_file 3000000000\nactive_file 1\n")
	write(filepath.Join(dir, "fs", "job", "memory.max"), "max\n")
	if got := cgroupLeftAt(self, filepath.Join(dir, "fs")); got != 6000000000 {
		t.Errorf("v2: %d left, want 6000000000", got)
	}
	// A parent with less left wins.
	write(filepath.Join(dir, "fs", "job", "memory.max"), "3000000000\n")
	write(filepath.Join(dir, "fs", "job", "memory.current"), "2000000000\n")
	if got := cgroupLeftAt(self, filepath.Join(dir, "fs")); got != 1000000000 {
		t.Errorf("v2 parent: %d left, want 1000000000", got)
	}
	// v1, its "no limit" value.
	write(self, "4:memory:/pod\n3:cpu:/\n")
	write(filepath.Join(dir, "fs", "memory", "pod", "memory.limit_in_bytes"), "4000000000\n")
	write(filepath.Join(dir, "fs", "memory", "pod", "memory.usage_in_bytes"), "3500000000\n")
	write(filepath.Join(dir, "fs", "memory", "pod", "memory.stat"), "cache 3000000000\ntotal_inactive_file 2500000000\n")
	write(filepath.Join(dir, "fs", "memory", "memory.limit_in_bytes"), "9223372036854771712\n")
	if got := cgroupLeftAt(self, filepath.Join(dir, "fs")); got != 3000000000 {
		t.Errorf("v1: %d left, want 3000000000", got)
	}
	write(filepath.Join(dir, "fs", "memory", "pod", "memory.limit_in_bytes"), "9223372036854771712\n")
	if got := cgroupLeftAt(self, filepath.Join(dir, "fs")); got != 0 {
		t.Errorf("v1 without a limit: %d, want 0", got)
	}
}
