package farm

import (
	"context"
	"errors"
	"github.com/stretchr/testify/require"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// bashSyntax runs `bash -n` on script.
func bashSyntax(t *testing.T, script string) {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not on PATH")
	}
	cmd := exec.Command("bash", "-n")
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "bash -n: %s\n%s", out, script)
}

func lines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }

func TestSlurmScripts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "my plans")
	require.NoError(t, os.Mkdir(dir, 0o755))
	p, planPath := newTestPlan(t, dir, 100, 40, 4)

	array, merge, err := SlurmScripts(p, planPath, SlurmOptions{
		Bin:         "/opt/vid nst/bin/vidnst",
		Output:      filepath.Join(dir, "it's done.mp4"),
		JobName:     "clip 7",
		Partition:   "gpu",
		GPUsPerTask: 1,
		CPUsPerTask: 4,
		Time:        "02:00:00",
		MergeTime:   "00:30:00",
		MaxParallel: 2,
		RenderArgs:  []string{"--device", "cuda:0"},
	})
	require.NoError(t, err)
	bashSyntax(t, array)
	bashSyntax(t, merge)

	al := lines(array)
	require.Equal(t, "#!/bin/bash", al[0])
	for _, want := range []string{
		`#SBATCH --job-name="clip 7-render"`,
		`#SBATCH --array=0-3%2`,
		`#SBATCH --ntasks=1`,
		`#SBATCH --output="` + dir + `/clip 7-render-%A_%a.log"`,
		`#SBATCH --chdir="` + dir + `"`,
		`#SBATCH --requeue`,
		`#SBATCH --partition=gpu`,
		`#SBATCH --gpus-per-task=1`,
		`#SBATCH --cpus-per-task=4`,
		`#SBATCH --time=02:00:00`,
		`BIN='/opt/vid nst/bin/vidnst'`,
		`PLAN='` + planPath + `'`,
		`exec "$BIN" render --plan "$PLAN" --chunk "$SLURM_ARRAY_TASK_ID" --progress lines '--device' 'cuda:0'`,
	} {
		require.Contains(t, al, want)
	}
	// All #SBATCH lines come before the first command.
	seenCmd := false
	for _, l := range al[1:] {
		if strings.HasPrefix(l, "#SBATCH") {
			require.False(t, seenCmd, "#SBATCH after a command: %q", l)
		} else if !strings.HasPrefix(l, "#") {
			seenCmd = true
		}
	}

	ml := lines(merge)
	for _, want := range []string{
		`#SBATCH --job-name="clip 7-merge"`,
		`#SBATCH --output="` + dir + `/clip 7-merge-%j.log"`,
		`#SBATCH --kill-on-invalid-dep=yes`,
		`#SBATCH --time=00:30:00`,
		`OUTPUT='` + dir + `/it'\''s done.mp4'`,
		`exec "$BIN" merge "$PLAN" "$OUTPUT"`,
	} {
		require.Contains(t, ml, want)
	}
	require.NotContains(t, merge, "--array")
	require.NotContains(t, merge, "gpus")

	// The quoting really yields the right words.
	out, err := exec.Command("bash", "-c", strings.Replace(merge, `exec "$BIN"`, `printf '<%s>\n' "$BIN"`, 1)).Output()
	require.NoError(t, err)
	require.Equal(t, "</opt/vid nst/bin/vidnst>\n<merge>\n<"+planPath+">\n<"+dir+"/it's done.mp4>\n", string(out))

	// Defaults: own executable, no optional lines.
	array, _, err = SlurmScripts(p, planPath, SlurmOptions{Output: "out.mp4", NoRequeue: true})
	require.NoError(t, err)
	exe, _ := os.Executable()
	require.Contains(t, lines(array), "BIN="+shQuote(exe))
	require.Contains(t, lines(array), "#SBATCH --array=0-3")
	for _, absent := range []string{"--requeue", "--partition", "--gpus-per-task", "--time", "--cpus-per-task", "--device"} {
		require.NotContains(t, array, absent)
	}
	// GPUs and no device named: the chunks render on the GPU.
	array, _, err = SlurmScripts(p, planPath, SlurmOptions{Output: "out.mp4", GPUsPerTask: 1, RenderArgs: []string{"--threads", "2"}})
	require.NoError(t, err)
	require.Contains(t, lines(array), `exec "$BIN" render --plan "$PLAN" --chunk "$SLURM_ARRAY_TASK_ID" --progress lines '--threads' '2' '--device' 'cuda'`)
}

func TestGPURenderArgs(t *testing.T) {
	plain := &Plan{}
	withDev := &Plan{Settings: Settings{Extra: map[string]string{"device": "cuda:1"}}}
	for _, tc := range []struct {
		p    *Plan
		gpus int
		args []string
		want string
	}{
		{plain, 0, nil, ""},
		{plain, 0, []string{"--threads", "1"}, "--threads 1"},
		{plain, 1, nil, "--device cuda"},
		{plain, 2, []string{"--batch", "8"}, "--batch 8 --device cuda"},
		{plain, 1, []string{"--device", "auto"}, "--device auto"},
		{plain, 1, []string{"--device=cpu"}, "--device=cpu"},
		{withDev, 1, nil, ""}, // the plan's device (cuda:1) applies
	} {
		args := append([]string(nil), tc.args...)
		got := strings.Join(GPURenderArgs(tc.p, tc.gpus, args), " ")
		require.Equal(t, tc.want, got, "gpus %d args %q", tc.gpus, tc.args)
		require.Equal(t, tc.args, args, "args modified")
	}
}

func TestSlurmScriptsErrors(t *testing.T) {
	p, planPath := newTestPlan(t, "", 100, 10, 2)
	for _, tc := range []struct {
		name string
		opts SlurmOptions
		want string
	}{
		{"no output", SlurmOptions{Bin: "/b"}, "output path is empty"},
		{"relative bin", SlurmOptions{Bin: "vidnst", Output: "/o"}, "not an absolute path"},
		{"quote", SlurmOptions{Bin: "/b", Output: `/o"x`}, "contains"},
		{"percent", SlurmOptions{Bin: "/b", Output: "/o", LogDir: "/logs/%x"}, "contains"},
		{"newline", SlurmOptions{Bin: "/b\nrm -rf /", Output: "/o"}, "contains"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := SlurmScripts(p, planPath, tc.opts)
			require.ErrorContains(t, err, tc.want)
			require.True(t, strings.HasPrefix(err.Error(), "farm: slurm: "), err.Error())
		})
	}
	_, _, err := SlurmScripts(&Plan{}, planPath, SlurmOptions{Bin: "/b", Output: "/o"})
	require.ErrorContains(t, err, "no chunks")
}

func TestJobsError(t *testing.T) {
	e := &JobsError{Failed: []JobResult{
		{ID: "5_3", ArrayJobID: "5", ArrayTaskID: "3", State: "FAILED", Reason: "NonZeroExitCode", ExitCode: "3:0"},
		{ID: "5_1", ArrayJobID: "5", ArrayTaskID: "1", State: "TIMEOUT", ExitCode: "0:15"},
		{ID: "6", State: "PENDING", Reason: "DependencyNeverSatisfied", ExitCode: "0:0"},
	}}
	require.Equal(t, []int{1, 3}, e.FailedTasks())
	require.Equal(t, "farm: slurm: 5_3 FAILED (exit 3:0, NonZeroExitCode); 5_1 TIMEOUT (exit 0:15); "+
		"6 PENDING (DependencyNeverSatisfied) [will never run; scancel 6]; failed array tasks: 1,3", e.Error())
}

func TestJobCompLog(t *testing.T) {
	log := filepath.Join(t.TempDir(), "jobcomp.log")
	require.NoError(t, os.WriteFile(log, []byte(strings.Join([]string{
		"JobId=40 UserId=root(0) Name=old JobState=FAILED ExitCode=1:0 ",
		"JobId=41 UserId=root(0) Name=vid nst JobState=FAILED Partition=debug ArrayJobId=40 ArrayTaskId=1 DerivedExitCode=0:0 ExitCode=3:0 ",
		"JobId=42 UserId=root(0) Name=vid nst JobState=COMPLETED ArrayJobId=40 ArrayTaskId=0 DerivedExitCode=0:0 ExitCode=0:0 ",
		"JobId=40 UserId=root(0) Name=vid nst JobState=COMPLETED ArrayJobId=40 ArrayTaskId=2 DerivedExitCode=0:0 ExitCode=0:0 ",
		"JobId=43 UserId=root(0) Name=merge JobState=CANCELLED Partition=debug DerivedExitCode=0:0 ExitCode=0:0",
		"JobId=400 UserId=root(0) Name=x JobState=FAILED ExitCode=1:0 ",
	}, "\n")+"\n"), 0o644))
	s := &Slurm{Scontrol: "false", JobCompLog: log} // scontrol fails without "Invalid job id"
	_, err := s.Results(context.Background(), "40")
	require.ErrorContains(t, err, "scontrol show job 40")

	res, err := s.fromJobComp("40")
	require.NoError(t, err)
	require.Equal(t, []JobResult{
		{ID: "40_0", ArrayJobID: "40", ArrayTaskID: "0", State: "COMPLETED", ExitCode: "0:0"},
		{ID: "40_1", ArrayJobID: "40", ArrayTaskID: "1", State: "FAILED", ExitCode: "3:0"},
		{ID: "40_2", ArrayJobID: "40", ArrayTaskID: "2", State: "COMPLETED", ExitCode: "0:0"},
		{ID: "40", State: "FAILED", ExitCode: "1:0"},
	}, res)
	res, err = s.fromJobComp("43")
	require.NoError(t, err)
	require.Equal(t, []JobResult{{ID: "43", State: "CANCELLED", ExitCode: "0:0"}}, res)
	res, err = s.fromJobComp("4")
	require.NoError(t, err)
	require.Empty(t, res)
}

// fakeSlurm writes fake squeue/scontrol commands: job 6 is an array whose
// task 1 failed (scontrol) and task 2 failed (seen by squeue only, as if
// the controller had already forgotten it), job 7 is stuck pending on DependencyNeverSatisfied (a
// cluster without kill_invalid_depend), job 8 is gone from the controller
// and only in the jobcomp log.
func fakeSlurm(t *testing.T) *Slurm {
	dir := t.TempDir()
	write := func(name, body string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte("#!/bin/bash\n"+body), 0o755))
		return path
	}
	squeue := write("squeue", `
case "$*" in
*"-j 6 "*) printf '6_0|6|0|COMPLETED|None\n6_2|6|2|FAILED|NonZeroExitCode\n' ;;
*"-j 7 "*) echo '7|7|N/A|PENDING|DependencyNeverSatisfied' ;;
*"-j 8 "*) echo 'slurm_load_jobs error: Invalid job id specified' >&2; exit 1 ;;
*"-j 9 "*) echo '9|9|N/A|RUNNING|None' ;;
esac`)
	scontrol := write("scontrol", `
case "$3" in
6) printf 'JobId=6 ArrayJobId=6 ArrayTaskId=1 JobName=r\n   JobState=FAILED Reason=NonZeroExitCode Dependency=(null)\n   Requeue=1 ExitCode=3:0\n   WorkDir=/a b\n\nJobId=10 ArrayJobId=6 ArrayTaskId=0 JobName=r\n   JobState=COMPLETED Reason=None\n   ExitCode=0:0\n\n' ;;
7) printf 'JobId=7 JobName=m\n   JobState=PENDING Reason=DependencyNeverSatisfied Dependency=afterok:6_*(failed)\n   ExitCode=0:0\n' ;;
*) echo 'slurm_load_jobs error: Invalid job id specified' >&2; exit 1 ;;
esac`)
	log := filepath.Join(dir, "jobcomp.log")
	require.NoError(t, os.WriteFile(log, []byte("JobId=8 UserId=root(0) Name=m JobState=COMPLETED ExitCode=0:0\n"), 0o644))
	return &Slurm{Squeue: squeue, Scontrol: scontrol, JobCompLog: log, Poll: 10 * time.Millisecond}
}

func TestWaitFake(t *testing.T) {
	s := fakeSlurm(t)
	ctx := context.Background()

	require.NoError(t, s.Wait(ctx, "8"))

	err := s.Wait(ctx, "6", "7")
	var je *JobsError
	require.ErrorAs(t, err, &je)
	require.Equal(t, []int{1, 2}, je.FailedTasks())
	require.Len(t, je.Failed, 3)
	require.Equal(t, "6_2", je.Failed[1].ID)
	require.Equal(t, "7", je.Failed[2].ID)
	require.Contains(t, err.Error(), "6_1 FAILED (exit 3:0, NonZeroExitCode)")
	require.Contains(t, err.Error(), "7 PENDING (DependencyNeverSatisfied)")

	// A running job: bounded by the context.
	ctx2, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	err = s.Wait(ctx2, "9")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.False(t, errors.As(err, &je))

	// Unknown everywhere.
	err = s.Wait(ctx, "11")
	require.ErrorContains(t, err, "final state unknown")
	require.ErrorContains(t, s.Wait(ctx, "1;rm"), "invalid job id")
}

func TestSubmitFake(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "calls")
	sbatch := filepath.Join(dir, "sbatch")
	require.NoError(t, os.WriteFile(sbatch, []byte(`#!/bin/bash
{ echo "ARGS $*"; cat; echo; } >> '`+log+`'
n=$(grep -c ^ARGS '`+log+`')
if [ "$n" = 1 ]; then echo "100;cluster"; else echo 101; fi
`), 0o755))
	s := &Slurm{Sbatch: sbatch}
	a, m, err := s.Submit(context.Background(), "ARRAY SCRIPT", "MERGE SCRIPT")
	require.NoError(t, err)
	require.Equal(t, "100", a)
	require.Equal(t, "101", m)
	calls, err := os.ReadFile(log)
	require.NoError(t, err)
	require.Equal(t, "ARGS --parsable\nARRAY SCRIPT\nARGS --parsable --dependency=afterok:100\nMERGE SCRIPT\n", string(calls))

	s.Sbatch = "false"
	_, _, err = s.Submit(context.Background(), "x", "y")
	require.ErrorContains(t, err, "farm: submit render array: sbatch")
}
