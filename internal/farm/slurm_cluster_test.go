package farm

import (
	"context"
	"fmt"
	"github.com/stretchr/testify/require"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// requireSlurm skips (loudly, also on stderr so it shows without -v) unless
// a Slurm cluster answers. With VIDNST_REQUIRE_SLURM=1 it fails instead.
// The test never starts a cluster: run
// ../shared/slurm/start-local-slurm.sh first (CI does).
func requireSlurm(t *testing.T) {
	t.Helper()
	skip := func(why string) {
		msg := "SLURM CLUSTER TEST SKIPPED: " + why + " (start one with: bash /work/shared/slurm/start-local-slurm.sh)"
		if os.Getenv("VIDNST_REQUIRE_SLURM") == "1" {
			t.Fatal(msg)
		}
		fmt.Fprintln(os.Stderr, "!!!", t.Name()+":", msg)
		t.Skip(msg)
	}
	for _, c := range []string{"sbatch", "squeue", "scontrol", "sinfo"} {
		if _, err := exec.LookPath(c); err != nil {
			skip(c + " is not on PATH")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "sinfo", "-h", "-o", "%T").Output()
	if err != nil {
		skip(fmt.Sprintf("sinfo does not respond: %v", err))
	}
	for _, st := range strings.Fields(string(out)) {
		switch strings.TrimSuffix(st, "*") {
		case "idle", "mixed", "allocated", "completing":
			return
		}
	}
	skip(fmt.Sprintf("no usable node (sinfo: %q)", strings.TrimSpace(string(out))))
}

// fakeVidnst is a stand-in for the vidnst binary: render writes
// chunk-NNNN.mp4 (containing "chunk N") next to the plan, failing with exit
// 3 for chunk failChunk; merge checks that every chunk exists and
// concatenates them into the output.
func fakeVidnst(t *testing.T, dir string, chunks, failChunk int) string {
	script := fmt.Sprintf(`#!/bin/bash
set -eu
case "$1" in
render)
    [ "$#" = 7 ] && [ "$2" = --plan ] && [ "$4" = --chunk ] && [ "$6 $7" = "--progress lines" ] || { echo "bad args: $*" >&2; exit 64; }
    [ "$5" = "$SLURM_ARRAY_TASK_ID" ] || { echo "chunk $5 != task $SLURM_ARRAY_TASK_ID" >&2; exit 65; }
    [ "$5" != %d ] || { echo "chunk $5: simulated failure" >&2; exit 3; }
    f=$(printf '%%s/chunk-%%04d.mp4' "$(dirname "$3")" "$5")
    printf 'chunk %%s\n' "$5" > "$f.tmp"
    mv "$f.tmp" "$f"
    ;;
merge)
    [ "$#" = 3 ] || { echo "bad args: $*" >&2; exit 64; }
    d=$(dirname "$2")
    for ((i = 0; i < %d; i++)); do
        f=$(printf '%%s/chunk-%%04d.mp4' "$d" "$i")
        [ -f "$f" ] || { echo "merge ran before $f existed" >&2; exit 4; }
        cat "$f"
    done > "$3.tmp"
    mv "$3.tmp" "$3"
    ;;
*) echo "bad command $1" >&2; exit 64 ;;
esac
`, failChunk, chunks)
	bin := filepath.Join(dir, "fake vidnst")
	require.NoError(t, os.WriteFile(bin, []byte(script), 0o755))
	return bin
}

func submitFake(t *testing.T, chunks, failChunk int, editMerge func(string) string) (p *Plan, output, arrayID, mergeID string) {
	dir := filepath.Join(t.TempDir(), "farm plan")
	require.NoError(t, os.Mkdir(dir, 0o755))
	p, planPath := newTestPlan(t, dir, 1000, chunks*3, chunks)
	require.Len(t, p.Chunks, chunks)
	output = filepath.Join(dir, "merged out.mp4")
	array, merge, err := SlurmScripts(p, planPath, SlurmOptions{
		Bin:     fakeVidnst(t, dir, chunks, failChunk),
		Output:  output,
		JobName: "vidnst-test",
	})
	require.NoError(t, err)
	if editMerge != nil {
		merge = editMerge(merge)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	arrayID, mergeID, err = Submit(ctx, array, merge)
	require.NoError(t, err)
	t.Logf("submitted array %s, merge %s", arrayID, mergeID)
	t.Cleanup(func() {
		// Only our own jobs; harmless when they are finished.
		_ = exec.Command("scancel", arrayID, mergeID).Run()
	})
	return p, output, arrayID, mergeID
}

func TestSlurmClusterSubmitWait(t *testing.T) {
	requireSlurm(t)
	const chunks = 4
	start := time.Now()
	p, output, arrayID, mergeID := submitFake(t, chunks, -1, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	require.NoError(t, Wait(ctx, arrayID, mergeID))
	t.Logf("array of %d + merge finished in %v", chunks, time.Since(start))

	var want strings.Builder
	for i := range chunks {
		data, err := os.ReadFile(p.ChunkPath(i))
		require.NoError(t, err, "chunk %d", i)
		require.Equal(t, fmt.Sprintf("chunk %d\n", i), string(data)) // task i rendered chunk i
		want.Write(data)
	}
	got, err := os.ReadFile(output)
	require.NoError(t, err)
	require.Equal(t, want.String(), string(got))

	// Results report every task.
	res, err := DefaultSlurm.Results(ctx, arrayID)
	require.NoError(t, err)
	require.Len(t, res, chunks)
	for i, r := range res {
		require.Equal(t, fmt.Sprintf("%s_%d", arrayID, i), r.ID)
		require.True(t, r.OK(), r.String())
	}
	// Logs went where the script said.
	logs, _ := filepath.Glob(filepath.Join(p.Dir, "vidnst-test-render-"+arrayID+"_*.log"))
	require.Len(t, logs, chunks)
}

func TestSlurmClusterFailedTask(t *testing.T) {
	requireSlurm(t)
	start := time.Now()
	p, output, arrayID, mergeID := submitFake(t, 3, 1, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	err := Wait(ctx, arrayID, mergeID)
	t.Logf("failing run reported after %v: %v", time.Since(start), err)
	require.Error(t, err)
	require.NoError(t, ctx.Err(), "Wait hung until its deadline")
	var je *JobsError
	require.ErrorAs(t, err, &je)
	require.Equal(t, []int{1}, je.FailedTasks())
	require.Contains(t, err.Error(), arrayID+"_1 FAILED (exit 3:0")
	require.Contains(t, err.Error(), mergeID+" ") // the merge never ran
	require.Contains(t, err.Error(), "DependencyNeverSatisfied")

	_, statErr := os.Stat(output)
	require.True(t, os.IsNotExist(statErr), "merge must not run after a failed task")
	for _, i := range []int{0, 2} {
		_, err := os.Stat(p.ChunkPath(i))
		require.NoError(t, err, "chunk %d", i)
	}
}

// On clusters without DependencyParameters=kill_invalid_depend (and a merge
// submitted without --kill-on-invalid-dep=yes) the merge stays PENDING with
// reason DependencyNeverSatisfied for ever; Wait must notice and fail.
func TestSlurmClusterNeverSatisfied(t *testing.T) {
	requireSlurm(t)
	start := time.Now()
	_, output, arrayID, mergeID := submitFake(t, 2, 0, func(s string) string {
		out := strings.Replace(s, "--kill-on-invalid-dep=yes", "--kill-on-invalid-dep=no", 1)
		require.NotEqual(t, s, out)
		return out
	})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	err := Wait(ctx, arrayID, mergeID)
	t.Logf("reported after %v: %v", time.Since(start), err)
	require.NoError(t, ctx.Err(), "Wait hung until its deadline")
	var je *JobsError
	require.ErrorAs(t, err, &je)
	require.Equal(t, []int{0}, je.FailedTasks())
	require.Contains(t, err.Error(), mergeID+" PENDING (DependencyNeverSatisfied) [will never run; scancel "+mergeID+"]")
	_, statErr := os.Stat(output)
	require.True(t, os.IsNotExist(statErr))
}
