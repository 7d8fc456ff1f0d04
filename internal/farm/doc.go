// Package farm splits one vidnst render into chunks that can be rendered on
// many machines (a Slurm cluster, a Kubernetes cluster, or several shells on
// one box) and later joined without re-encoding.
//
// # The plan
//
// A [Plan] is a small versioned JSON file written once by `vidnst plan`. It
// records the render settings, the identity of the input (absolute path, path
// relative to the plan, size, SHA-256 of the first MiB, geometry, frame count,
// rate) and the frame range of every chunk. Chunks are half-open frame ranges
// [Start, End) that cover [0, FrameCount) exactly, in order, with no gaps and
// no empty chunks. [Split] and [SplitSeconds] compute them, snapping chunk
// starts to keyframes where one is close.
//
// # Paths
//
// All files that belong to a farm render are found relative to the folder
// that holds the plan file (the "plan folder", [Plan.Dir]):
//
//   - chunk files ([Chunk.File], e.g. "plan.chunk-0003.mp4" for plan.json) and
//     their completion markers ("plan.chunk-0003.mp4.done") live in the plan folder, or in
//     [Plan.OutDir] when that is set (OutDir itself may be relative to the plan
//     folder or absolute);
//   - the input is recorded twice: [Input.Path] (absolute, as seen on the
//     planning machine) and [Input.RelPath] (relative to the plan folder).
//     [Plan.InputPath] prefers the relative form when the file exists there,
//     and falls back to the absolute one.
//
// This makes a plan folder relocatable: on a Slurm cluster with a shared file
// system both forms usually work; in a Kubernetes pod, where the shared
// volume (a PVC) is mounted at a fixed path such as /work, only the relative
// form works, so the input must sit inside the volume at the same place
// relative to the plan as on the machine that wrote the plan. [K8sManifests]
// checks this and refuses plans whose input lies outside the volume.
//
// A Kubernetes layout, with the PVC mounted at /work in every pod and, on a
// workstation, at /mnt/pvc:
//
//	/mnt/pvc/plan.json        K8sOptions.PlanSubPath "plan.json" (the default)
//	/mnt/pvc/input.mp4        Input.RelPath "input.mp4"
//	/mnt/pvc/plan.chunk-0000.mp4   and plan.chunk-0000.mp4.done, ...
//	/mnt/pvc/output.mp4       K8sOptions.Output "output.mp4" (the default)
//
// Write the plan with `vidnst plan /mnt/pvc/input.mp4 ... -o /mnt/pvc/plan.json`
// from any machine that mounts the volume (RelPath is recomputed by
// [Plan.Save] for the plan's folder), then apply the YAML. In the pods the
// plan is /work/plan.json and the input resolves to /work/input.mp4. The plan
// may also live in a sub-folder (PlanSubPath "jobs/clip7/plan.json") as long
// as the input's relative path does not leave the volume.
//
// # Completion markers
//
// A chunk is "done and valid" when its file exists and a sidecar
// "<file>.done" JSON ([DoneRecord]) records the file's size and SHA-256, the
// number of frames, and a fingerprint of the plan (input identity, settings,
// warm-up and the chunk's range). Renderers write the chunk to a temporary
// name ([TempPath]), rename it into place, then call [MarkDone]; a crash in
// between leaves a chunk that [IsDone] reports as not done, so it is simply
// rendered again. Rerunning every chunk is therefore safe: done chunks are
// skipped.
//
// # Schedulers
//
// On Slurm, a failed array task makes the merge job's afterok dependency
// unsatisfiable: the merge script carries --kill-on-invalid-dep=yes so that
// Slurm cancels it, and [Wait] also recognises a merge left pending with
// reason DependencyNeverSatisfied. [Wait]'s [*JobsError] names the failed
// array tasks (= chunk indices). To recover, resubmit the array script (done
// chunks are skipped) and the merge script with a new dependency, or
// `sbatch --array=LIST` to rerun only the failed tasks. --requeue lets Slurm
// itself requeue tasks lost to node failure or preemption.
//
// [SlurmScripts] writes two sbatch scripts (a job array over the chunks and a
// merge job); [Submit] submits them with an afterok dependency and [Wait]
// follows them to the end. [K8sManifests] writes an Indexed Job and a merge
// Job as multi-document YAML; as Kubernetes has no job dependencies, the merge
// Job runs `vidnst merge --wait-chunks TIMEOUT`, which polls until every chunk
// is done.
//
// All errors returned by this package start with "farm: ".
package farm
