package farm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// SlurmOptions configures [SlurmScripts].
type SlurmOptions struct {
	// Bin is the vidnst binary the jobs run, as an absolute path valid on the
	// compute nodes. Empty means this process's own executable.
	Bin string
	// Output is the merged video the merge job writes (required; made
	// absolute against the current directory).
	Output string
	// JobName prefixes the job names ("NAME-render", "NAME-merge");
	// default "vidnst".
	JobName string
	// Partition, when set, is passed as --partition to both jobs.
	Partition string
	// GPUsPerTask, when > 0, is passed as --gpus-per-task to the render
	// array (not to the merge).
	GPUsPerTask int
	// CPUsPerTask, when > 0, is passed as --cpus-per-task to the render
	// array.
	CPUsPerTask int
	// Time, when set, is the --time limit of each render task (Slurm
	// syntax, e.g. "02:00:00"); MergeTime the merge job's.
	Time      string
	MergeTime string
	// MaxParallel, when > 0, limits how many array tasks run at once
	// (--array=0-N%MaxParallel).
	MaxParallel int
	// LogDir is where the jobs' stdout/stderr go (must exist on the compute
	// nodes); default the plan folder. It must not contain '%'.
	LogDir string
	// NoRequeue drops the --requeue line (which lets Slurm requeue tasks
	// hit by node failure or preemption).
	NoRequeue bool
	// Force gives the merge job -y: it replaces an existing Output.
	Force bool
	// RenderArgs are extra arguments appended to the render command. With
	// GPUsPerTask > 0 they get "--device cuda" unless they or the plan name
	// a device (see [GPURenderArgs]).
	RenderArgs []string
}

// GPURenderArgs returns the extra render arguments for chunk jobs that are
// given gpus GPUs each: args, plus "--device cuda" when gpus > 0 and
// neither args nor the plan's settings name a device (a render's default
// device is the CPU, which would leave the GPUs idle).
func GPURenderArgs(p *Plan, gpus int, args []string) []string {
	if gpus <= 0 || p.Settings.Extra["device"] != "" {
		return args
	}
	for _, a := range args {
		if a == "--device" || strings.HasPrefix(a, "--device=") {
			return args
		}
	}
	return append(append([]string(nil), args...), "--device", "cuda")
}

// SlurmScripts returns two sbatch scripts for the plan saved at planPath:
//
//   - array: a job array with one task per chunk (--array=0-(N-1)); task
//     SLURM_ARRAY_TASK_ID runs
//     `exec "$BIN" render --plan "$PLAN" --chunk "$SLURM_ARRAY_TASK_ID" --progress lines`;
//   - merge: runs `exec "$BIN" merge "$PLAN" "$OUTPUT"`. It must be submitted
//     with --dependency=afterok:ARRAYID ([Submit] does this) and carries
//     --kill-on-invalid-dep=yes so that it is cancelled, not left pending,
//     when a render task fails.
//
// All paths are absolute and single-quoted in the shell part and
// double-quoted in #SBATCH lines, so spaces are fine; paths containing
// double quotes, '%' (a Slurm filename pattern) or newlines are refused.
// Both scripts --chdir to the plan folder. Since render skips chunks that are
// already done, submitting the array again (or `sbatch --array=3,7 array.sh`
// for some tasks) only renders what is missing.
func SlurmScripts(p *Plan, planPath string, opts SlurmOptions) (array, merge string, err error) {
	if len(p.Chunks) == 0 {
		return "", "", errors.New("farm: slurm: plan has no chunks")
	}
	plan, err := filepath.Abs(planPath)
	if err != nil {
		return "", "", fmt.Errorf("farm: slurm: plan path: %w", err)
	}
	bin := opts.Bin
	if bin == "" {
		if bin, err = os.Executable(); err != nil {
			return "", "", fmt.Errorf("farm: slurm: find own executable: %w", err)
		}
	}
	if !filepath.IsAbs(bin) {
		return "", "", optionErrorf("farm: slurm: binary %q is not an absolute path", bin)
	}
	if opts.Output == "" {
		return "", "", optionErrorf("farm: slurm: output path is empty")
	}
	output, err := filepath.Abs(opts.Output)
	if err != nil {
		return "", "", fmt.Errorf("farm: slurm: output path: %w", err)
	}
	dir := filepath.Dir(plan)
	logDir := dir
	if opts.LogDir != "" {
		if logDir, err = filepath.Abs(opts.LogDir); err != nil {
			return "", "", fmt.Errorf("farm: slurm: log dir: %w", err)
		}
	}
	name := opts.JobName
	if name == "" {
		name = "vidnst"
	}
	for _, v := range []struct{ what, s string }{
		{"plan path", plan}, {"binary", bin}, {"output", output}, {"log dir", logDir},
		{"job name", name}, {"partition", opts.Partition}, {"time", opts.Time}, {"merge time", opts.MergeTime},
	} {
		if strings.ContainsAny(v.s, "\"\n\r\x00%") {
			return "", "", optionErrorf("farm: slurm: %s %q contains '\"', '%%' or a control character", v.what, v.s)
		}
	}
	for _, a := range opts.RenderArgs {
		if strings.ContainsAny(a, "\x00") {
			return "", "", fmt.Errorf("farm: slurm: render argument %q contains a nul byte", a)
		}
	}

	n := len(p.Chunks)
	var b strings.Builder
	line := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }

	// Render array.
	arraySpec := fmt.Sprintf("0-%d", n-1)
	if opts.MaxParallel > 0 {
		arraySpec += fmt.Sprintf("%%%d", opts.MaxParallel)
	}
	line("#!/bin/bash")
	line("# Generated by vidnst: renders the %d chunks of %s as a Slurm job array.", n, oneLine(plan))
	line("# Submit with sbatch; task i renders chunk i. Chunks already done are skipped,")
	line("# so resubmitting (or sbatch --array=3,7 this-script) reruns only what is missing.")
	line("#SBATCH --job-name=%s", sbatchQuote(name+"-render"))
	line("#SBATCH --array=%s", arraySpec)
	line("#SBATCH --ntasks=1")
	line("#SBATCH --output=%s", sbatchQuote(filepath.Join(logDir, name+"-render-%A_%a.log")))
	line("#SBATCH --chdir=%s", sbatchQuote(dir))
	if !opts.NoRequeue {
		line("#SBATCH --requeue")
	}
	if opts.Partition != "" {
		line("#SBATCH --partition=%s", sbatchQuote(opts.Partition))
	}
	if opts.GPUsPerTask > 0 {
		line("#SBATCH --gpus-per-task=%d", opts.GPUsPerTask)
	}
	if opts.CPUsPerTask > 0 {
		line("#SBATCH --cpus-per-task=%d", opts.CPUsPerTask)
	}
	if opts.Time != "" {
		line("#SBATCH --time=%s", sbatchQuote(opts.Time))
	}
	line("set -euo pipefail")
	line("BIN=%s", shQuote(bin))
	line("PLAN=%s", shQuote(plan))
	line(`if [ -z "${SLURM_ARRAY_TASK_ID:-}" ]; then`)
	line(`    echo "vidnst: SLURM_ARRAY_TASK_ID is not set; submit this script with sbatch" >&2`)
	line("    exit 2")
	line("fi")
	extra := ""
	for _, a := range GPURenderArgs(p, opts.GPUsPerTask, opts.RenderArgs) {
		extra += " " + shQuote(a)
	}
	line(`exec "$BIN" render --plan "$PLAN" --chunk "$SLURM_ARRAY_TASK_ID" --progress lines%s`, extra)
	array = b.String()

	// Merge.
	b.Reset()
	line("#!/bin/bash")
	line("# Generated by vidnst: joins the chunks of %s into %s.", oneLine(plan), oneLine(output))
	line("# Submit after the render array: sbatch --dependency=afterok:ARRAYJOBID this-script")
	line("#SBATCH --job-name=%s", sbatchQuote(name+"-merge"))
	line("#SBATCH --ntasks=1")
	line("#SBATCH --output=%s", sbatchQuote(filepath.Join(logDir, name+"-merge-%j.log")))
	line("#SBATCH --chdir=%s", sbatchQuote(dir))
	line("#SBATCH --kill-on-invalid-dep=yes")
	if opts.Partition != "" {
		line("#SBATCH --partition=%s", sbatchQuote(opts.Partition))
	}
	if opts.MergeTime != "" {
		line("#SBATCH --time=%s", sbatchQuote(opts.MergeTime))
	}
	line("set -euo pipefail")
	line("BIN=%s", shQuote(bin))
	line("PLAN=%s", shQuote(plan))
	line("OUTPUT=%s", shQuote(output))
	if opts.Force {
		line(`exec "$BIN" merge -y "$PLAN" "$OUTPUT"`)
	} else {
		line(`exec "$BIN" merge "$PLAN" "$OUTPUT"`)
	}
	merge = b.String()
	return array, merge, nil
}

// shQuote quotes s for bash: single quotes; an embedded single quote ends
// the quoted part, is written backslash-escaped, and the quoting resumes.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// sbatchQuote quotes a value for an #SBATCH line. sbatch strips double quotes
// around a value and keeps the spaces inside; values never contain '"'
// (SlurmScripts checks).
func sbatchQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t'\\$`#;&|<>()*?[]{}!~") {
		return s
	}
	return `"` + s + `"`
}

func oneLine(s string) string { return strings.NewReplacer("\n", " ", "\r", " ").Replace(s) }

// Slurm runs the Slurm client commands. The zero value uses "sbatch",
// "squeue" and "scontrol" from PATH, /var/log/slurm/jobcomp.log and a 500 ms
// poll interval.
type Slurm struct {
	Sbatch, Squeue, Scontrol string
	// JobCompLog is the jobcomp/filetxt log consulted for jobs the
	// controller has already forgotten (after MinJobAge).
	JobCompLog string
	// Poll is the interval between squeue calls in Wait.
	Poll time.Duration
}

// DefaultSlurm is what the package-level [Submit] and [Wait] use.
var DefaultSlurm = &Slurm{}

func (s *Slurm) bin(name, def string) string {
	if name != "" {
		return name
	}
	return def
}

// Submit submits the array script, then the merge script with
// --dependency=afterok:ARRAYID, both with `sbatch --parsable` reading the
// script from stdin, and returns the two job ids. If the merge submission
// fails, the array stays submitted and its id is returned with the error.
func Submit(ctx context.Context, arrayScript, mergeScript string) (arrayID, mergeID string, err error) {
	return DefaultSlurm.Submit(ctx, arrayScript, mergeScript)
}

// Submit is the package-level [Submit] with s's commands.
func (s *Slurm) Submit(ctx context.Context, arrayScript, mergeScript string) (arrayID, mergeID string, err error) {
	arrayID, err = s.sbatch(ctx, arrayScript)
	if err != nil {
		return "", "", fmt.Errorf("farm: submit render array: %w", err)
	}
	mergeID, err = s.sbatch(ctx, mergeScript, "--dependency=afterok:"+arrayID)
	if err != nil {
		return arrayID, "", fmt.Errorf("farm: submit merge job (render array %s is submitted): %w", arrayID, err)
	}
	return arrayID, mergeID, nil
}

var jobIDRe = regexp.MustCompile(`^[0-9]+$`)

func (s *Slurm) sbatch(ctx context.Context, script string, args ...string) (string, error) {
	args = append([]string{"--parsable"}, args...)
	cmd := exec.CommandContext(ctx, s.bin(s.Sbatch, "sbatch"), args...)
	cmd.Stdin = strings.NewReader(script)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("sbatch: %v: %s", err, firstLine(errb.String()))
	}
	// --parsable prints "jobid" or "jobid;cluster".
	id, _, _ := strings.Cut(strings.TrimSpace(out.String()), ";")
	if !jobIDRe.MatchString(id) {
		return "", fmt.Errorf("sbatch: unexpected output %q", firstLine(out.String()))
	}
	return id, nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// JobResult is the final (or, for a job that can never run, current) state
// of one Slurm job or array task.
type JobResult struct {
	// ID is "JOBID" for a plain job and "ARRAYJOBID_TASKID" for an array
	// task.
	ID          string
	ArrayJobID  string // empty for a plain job
	ArrayTaskID string // empty for a plain job
	State       string // COMPLETED, FAILED, CANCELLED, TIMEOUT, PENDING, ...
	Reason      string // e.g. NonZeroExitCode, DependencyNeverSatisfied
	ExitCode    string // "status:signal", e.g. "3:0"
}

// OK reports whether the job completed successfully.
func (r JobResult) OK() bool { return r.State == "COMPLETED" }

func (r JobResult) String() string {
	s := r.ID + " " + r.State
	var extra []string
	if r.ExitCode != "" && r.ExitCode != "0:0" {
		extra = append(extra, "exit "+r.ExitCode)
	}
	if r.Reason != "" && r.Reason != "None" {
		extra = append(extra, r.Reason)
	}
	if len(extra) > 0 {
		s += " (" + strings.Join(extra, ", ") + ")"
	}
	return s
}

// JobsError is returned by [Wait] when a job or array task did not complete
// successfully. Failed lists them; FailedTasks gives the failed array task
// ids, which are chunk indices for a vidnst render array.
type JobsError struct {
	Failed []JobResult
}

// FailedTasks returns the task ids of failed array tasks, sorted.
func (e *JobsError) FailedTasks() []int {
	var out []int
	for _, r := range e.Failed {
		if r.ArrayTaskID == "" {
			continue
		}
		if n, err := strconv.Atoi(r.ArrayTaskID); err == nil {
			out = append(out, n)
		}
	}
	sort.Ints(out)
	return out
}

func (e *JobsError) Error() string {
	var parts []string
	for _, r := range e.Failed {
		s := r.String()
		if r.State == "PENDING" && r.Reason == "DependencyNeverSatisfied" {
			s += " [will never run; scancel " + r.ID + "]"
		}
		parts = append(parts, s)
	}
	msg := "farm: slurm: " + strings.Join(parts, "; ")
	if tasks := e.FailedTasks(); len(tasks) > 0 {
		ts := make([]string, len(tasks))
		for i, t := range tasks {
			ts[i] = strconv.Itoa(t)
		}
		msg += "; failed array tasks: " + strings.Join(ts, ",")
	}
	return msg
}

// Wait follows the jobs until they end and reports how they ended.
//
// It polls `squeue -h -t all -j ID` every Poll (a superset of
// `-t PD,R,CG,CF,S`: it also sees tasks that already ended, so early
// results are kept even if the controller forgets them, after MinJobAge,
// before the last task ends) until none of the jobs (array jobs included:
// all their tasks) is pending, running, completing, configuring, suspended
// or being requeued, or until the only ones left are pending with reason
// DependencyNeverSatisfied (a job after a failed afterok dependency on a
// cluster without kill_invalid_depend and submitted without
// --kill-on-invalid-dep=yes: it would wait for ever; Wait does not cancel
// it). It then reads each job's final state and exit code from `scontrol
// show job ID` or, for jobs the controller has forgotten, from the last
// JobCompLog line for each job/task.
//
// It returns nil when every job and task COMPLETED, a *JobsError listing the
// others (array tasks as ARRAYID_TASK, see [JobsError.FailedTasks])
// otherwise, and ctx's error, wrapped, if ctx ends first.
func Wait(ctx context.Context, ids ...string) error { return DefaultSlurm.Wait(ctx, ids...) }

// Wait is the package-level [Wait] with s's commands.
func (s *Slurm) Wait(ctx context.Context, ids ...string) error {
	for _, id := range ids {
		if !jobIDRe.MatchString(id) {
			return fmt.Errorf("farm: slurm: invalid job id %q", id)
		}
	}
	poll := s.Poll
	if poll <= 0 {
		poll = 500 * time.Millisecond
	}
	seen := map[string]map[string]JobResult{} // job id -> task/job ID -> last queue state
	for _, id := range ids {
		seen[id] = map[string]JobResult{}
	}
	failures := 0
	for {
		active, stuck, err := s.poll(ctx, ids, seen)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("farm: slurm: wait for jobs %s: %w", strings.Join(ids, ","), ctx.Err())
			}
			// The controller may be briefly unreachable; give up only
			// if it stays so.
			if failures++; failures >= 20 {
				return fmt.Errorf("farm: slurm: %w", err)
			}
		} else {
			failures = 0
			if active == 0 || active == stuck {
				break
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("farm: slurm: wait for jobs %s: %w", strings.Join(ids, ","), ctx.Err())
		case <-time.After(poll):
		}
	}
	var failed []JobResult
	for _, id := range ids {
		res, err := s.results(ctx, id, seen[id])
		if err != nil {
			return err
		}
		for _, r := range res {
			if !r.OK() {
				failed = append(failed, r)
			}
		}
	}
	if len(failed) > 0 {
		return &JobsError{Failed: failed}
	}
	return nil
}

// terminal reports whether a Slurm job state is final.
func terminal(state string) bool {
	switch state {
	case "COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "PREEMPTED",
		"BOOT_FAIL", "DEADLINE", "OUT_OF_MEMORY", "REVOKED":
		return true
	}
	return false
}

// poll runs squeue for each id, records what it lists in seen, and returns
// how many entries are still alive and how many of those are pending on a
// dependency that can never be satisfied.
func (s *Slurm) poll(ctx context.Context, ids []string, seen map[string]map[string]JobResult) (active, stuck int, err error) {
	for _, id := range ids {
		cmd := exec.CommandContext(ctx, s.bin(s.Squeue, "squeue"), "-h", "-t", "all", "-j", id, "-o", "%i|%A|%a|%T|%r")
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			if strings.Contains(errb.String(), "Invalid job id") {
				continue // purged: finished long ago
			}
			return 0, 0, fmt.Errorf("squeue -j %s: %v: %s", id, err, firstLine(errb.String()))
		}
		for _, l := range strings.Split(out.String(), "\n") {
			f := strings.Split(strings.TrimSpace(l), "|")
			if len(f) < 5 {
				continue
			}
			r := JobResult{ID: f[0], State: f[3], Reason: f[4]}
			if f[2] != "" && f[2] != "N/A" {
				r.ArrayJobID, r.ArrayTaskID = f[1], f[2]
			}
			seen[id][r.ID] = r
			if terminal(r.State) {
				continue
			}
			active++
			if r.State == "PENDING" && r.Reason == "DependencyNeverSatisfied" {
				stuck++
			}
		}
	}
	return active, stuck, nil
}

// results combines, for job id, the final states seen by squeue with the
// records of scontrol (preferred) and the job completion log (for exit
// codes of jobs scontrol has forgotten, or everything when neither squeue
// nor scontrol saw the job).
func (s *Slurm) results(ctx context.Context, id string, seen map[string]JobResult) ([]JobResult, error) {
	ctl, err := s.scontrol(ctx, id)
	if err != nil {
		return nil, err
	}
	comp, err := s.fromJobComp(id)
	if err != nil {
		return nil, err
	}
	merged := map[string]JobResult{}
	if len(ctl) == 0 && len(seen) == 0 {
		for _, r := range comp {
			merged[r.ID] = r
		}
	} else {
		for _, r := range comp {
			if q, ok := seen[r.ID]; ok && terminal(q.State) {
				merged[r.ID] = r
			}
		}
		for _, q := range seen {
			if !terminal(q.State) {
				continue // e.g. "12_[3-7]": superseded by the tasks
			}
			if r, ok := merged[q.ID]; ok && r.State == q.State {
				continue // same, and the log also has the exit code
			}
			merged[q.ID] = q
		}
		for _, r := range ctl {
			merged[r.ID] = r
		}
	}
	if len(merged) == 0 {
		return nil, fmt.Errorf("farm: slurm: job %s: final state unknown (not known to the controller nor in %s)", id, s.jobCompLog())
	}
	res := make([]JobResult, 0, len(merged))
	for _, r := range merged {
		res = append(res, r)
	}
	sortResults(res)
	return res, nil
}

var (
	kvJobID    = regexp.MustCompile(`(?:^|\s)JobId=(\S+)`)
	kvArrayJob = regexp.MustCompile(`(?:^|\s)ArrayJobId=(\S+)`)
	kvArrayTsk = regexp.MustCompile(`(?:^|\s)ArrayTaskId=(\S+)`)
	kvState    = regexp.MustCompile(`(?:^|\s)JobState=(\S+)`)
	kvReason   = regexp.MustCompile(`(?:^|\s)Reason=(\S+)`)
	kvExit     = regexp.MustCompile(`(?:^|\s)ExitCode=(\S+)`)
)

func kv(re *regexp.Regexp, s string) string {
	if m := re.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return ""
}

func parseRecord(rec string) JobResult {
	r := JobResult{
		ArrayJobID:  kv(kvArrayJob, rec),
		ArrayTaskID: kv(kvArrayTsk, rec),
		State:       kv(kvState, rec),
		Reason:      kv(kvReason, rec),
		ExitCode:    kv(kvExit, rec),
	}
	r.ID = kv(kvJobID, rec)
	if r.ArrayJobID != "" && r.ArrayTaskID != "" {
		r.ID = r.ArrayJobID + "_" + r.ArrayTaskID
	}
	return r
}

// Results returns the state of job id and, for an array job, of each of its
// tasks, from `scontrol show job` or, when the controller no longer knows
// the job, from JobCompLog. It fails when neither knows it.
func (s *Slurm) Results(ctx context.Context, id string) ([]JobResult, error) {
	return s.results(ctx, id, nil)
}

// scontrol returns the records of `scontrol show job id`; none when the
// controller does not know the job.
func (s *Slurm) scontrol(ctx context.Context, id string) ([]JobResult, error) {
	cmd := exec.CommandContext(ctx, s.bin(s.Scontrol, "scontrol"), "show", "job", id)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		if strings.Contains(errb.String(), "Invalid job id") {
			return nil, nil
		}
		return nil, fmt.Errorf("farm: slurm: scontrol show job %s: %v: %s", id, err, firstLine(errb.String()))
	}
	var res []JobResult
	for _, rec := range blankLines.Split(out.String(), -1) {
		if strings.TrimSpace(rec) != "" {
			res = append(res, parseRecord(rec))
		}
	}
	return res, nil
}

var blankLines = regexp.MustCompile(`\n\s*\n`)

func (s *Slurm) jobCompLog() string { return s.bin(s.JobCompLog, "/var/log/slurm/jobcomp.log") }

// fromJobComp returns the last jobcomp line for job id (a plain job) or for
// each task of array job id.
func (s *Slurm) fromJobComp(id string) ([]JobResult, error) {
	data, err := os.ReadFile(s.jobCompLog())
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("farm: slurm: read job completion log: %w", err)
	}
	last := map[string]JobResult{}
	var order []string
	for _, l := range strings.Split(string(data), "\n") {
		if !strings.Contains(l, "="+id+" ") && !strings.HasSuffix(l, "="+id) {
			continue
		}
		r := parseRecord(l)
		jid := kv(kvJobID, l)
		if jid != id && r.ArrayJobID != id {
			continue
		}
		if _, seen := last[r.ID]; !seen {
			order = append(order, r.ID)
		}
		last[r.ID] = r
	}
	res := make([]JobResult, 0, len(order))
	for _, k := range order {
		res = append(res, last[k])
	}
	sortResults(res)
	return res, nil
}

func sortResults(res []JobResult) {
	sort.SliceStable(res, func(i, j int) bool {
		ti, ei := strconv.Atoi(res[i].ArrayTaskID)
		tj, ej := strconv.Atoi(res[j].ArrayTaskID)
		if ei == nil && ej == nil {
			return ti < tj
		}
		return ei == nil && ej != nil
	})
}
