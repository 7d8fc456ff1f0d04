package farm

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// DefaultMountPath is where [K8sManifests] mounts the PVC by default.
const DefaultMountPath = "/work"

// MergeWaitFlag is the merge option the merge Job passes, with a duration,
// so that merge polls until every chunk is done instead of failing at once:
// `vidnst merge --wait-chunks 12h0m0s PLAN OUTPUT`.
const MergeWaitFlag = "--wait-chunks"

// K8sResources are per-container resources of the render pods. CPU and
// Memory are Kubernetes quantities ("4", "500m", "16Gi") used as both
// request and limit; GPU, when > 0, is a limit on GPUResource (default
// "nvidia.com/gpu").
type K8sResources struct {
	CPU         string
	Memory      string
	GPU         int
	GPUResource string
}

// K8sOptions configures [K8sManifests].
type K8sOptions struct {
	// Image is the container image holding vidnst (required).
	Image string
	// Command is the entrypoint that runs vidnst in the image; default
	// ["vidnst"]. The subcommand and flags follow as args.
	Command []string
	// PVC is the PersistentVolumeClaim holding the plan, the input and the
	// chunks (required). It must be ReadWriteMany when pods may run on
	// several nodes.
	PVC string
	// MountPath is where the PVC is mounted in every pod; default /work.
	MountPath string
	// PlanSubPath is the plan's path inside the volume (slash-separated,
	// relative to the volume root); default the plan file's base name, i.e.
	// the plan sits at the volume root.
	PlanSubPath string
	// Output is the merged video, relative to the mount path (or an
	// absolute path under it); default "output.mp4".
	Output string
	// Name prefixes the Job names ("NAME-render", "NAME-merge"); default
	// "vidnst". It must be a DNS-1123 label short enough for pod host names.
	Name      string
	Namespace string
	// Parallelism bounds how many render pods run at once; <= 0 or more
	// than the number of chunks means one per chunk.
	Parallelism int32
	// BackoffLimitPerIndex is how many times one chunk's pod is retried
	// before that index is failed; default 2 (<0 means 0).
	BackoffLimitPerIndex int32
	// MaxFailedIndexes, when > 0, fails the whole render Job early once
	// that many chunks have failed.
	MaxFailedIndexes int32
	// FailIndexExitCodes, when non-empty, adds a podFailurePolicy that fails
	// a chunk's index at once (no retries) when vidnst exits with one of
	// these codes (e.g. the code for "input changed"), and ignores pod
	// disruptions (they do not count against the backoff limit).
	FailIndexExitCodes []int32
	// Resources of each render container.
	Resources K8sResources
	// RenderArgs are extra arguments appended to each render pod's
	// command; with Resources.GPU > 0 they get "--device cuda" unless they
	// or the plan name a device (see [GPURenderArgs]).
	RenderArgs []string
	// MergeWaitTimeout is how long the merge Job waits for the chunks
	// (passed with MergeWaitFlag); default 12h.
	MergeWaitTimeout time.Duration
	// ImagePullPolicy, when set, applies to both Jobs' containers.
	ImagePullPolicy corev1.PullPolicy
}

// K8sManifests returns a multi-document YAML (documents separated by
// "---") with two batch/v1 Jobs for the plan:
//
//   - NAME-render: an Indexed Job (completionMode Indexed, completions = number
//     of chunks, parallelism = min(Parallelism, chunks)) whose pod for index i
//     runs `vidnst render --plan PLAN --chunk $(JOB_COMPLETION_INDEX)
//     --progress lines`, with restartPolicy Never and backoffLimitPerIndex,
//     so a failed chunk is retried on its own. JOB_COMPLETION_INDEX is
//     declared explicitly from the pod annotation
//     batch.kubernetes.io/job-completion-index.
//   - NAME-merge: a one-pod Job running `vidnst merge --wait-chunks TIMEOUT
//     PLAN OUTPUT`. Kubernetes has no dependencies between Jobs, so both are
//     created together and the merge polls until every chunk is done (or the
//     timeout passes) before joining them.
//
// The PVC is mounted at MountPath in every pod and the working directory is
// the plan's folder there. The plan's recorded absolute paths are useless in
// a pod, so everything is found relative to the plan (see the package
// documentation): the plan must record Input.RelPath and the input, and a
// relative OutDir if any, must stay inside the volume; K8sManifests returns
// an error otherwise. planPath is only used for the default PlanSubPath.
func K8sManifests(p *Plan, planPath string, opts K8sOptions) ([]byte, error) {
	n := len(p.Chunks)
	if n == 0 {
		return nil, errors.New("farm: k8s: plan has no chunks")
	}
	if opts.Image == "" {
		return nil, optionErrorf("farm: k8s: image is empty")
	}
	if opts.PVC == "" {
		return nil, optionErrorf("farm: k8s: pvc is empty")
	}
	if errs := validation.IsDNS1123Subdomain(opts.PVC); len(errs) > 0 {
		return nil, optionErrorf("farm: k8s: pvc name %q: %s", opts.PVC, errs[0])
	}
	mount := opts.MountPath
	if mount == "" {
		mount = DefaultMountPath
	}
	if !path.IsAbs(mount) {
		return nil, optionErrorf("farm: k8s: mount path %q is not absolute", mount)
	}
	mount = path.Clean(mount)
	sub := opts.PlanSubPath
	if sub == "" {
		if planPath == "" {
			return nil, errors.New("farm: k8s: need a plan path or PlanSubPath")
		}
		sub = filepath.Base(planPath)
	}
	sub = path.Clean(filepath.ToSlash(sub))
	if !filepath.IsLocal(filepath.FromSlash(sub)) || path.IsAbs(sub) {
		return nil, optionErrorf("farm: k8s: plan sub-path %q must be relative and inside the volume", opts.PlanSubPath)
	}
	planInPod := path.Join(mount, sub)
	planDirInPod := path.Dir(planInPod)

	// The input must be reachable from the plan's folder inside the volume.
	if p.Input.RelPath == "" {
		return nil, errors.New("farm: k8s: plan has no input path relative to the plan; save it with Plan.Save")
	}
	if !inside(mount, path.Join(planDirInPod, p.Input.RelPath)) {
		return nil, optionErrorf("farm: k8s: input %q (relative to the plan) lies outside the volume mounted at %s; put the input in the volume next to the plan", p.Input.RelPath, mount)
	}
	if p.OutDir != "" {
		od := filepath.ToSlash(p.OutDir)
		if path.IsAbs(od) || filepath.IsAbs(p.OutDir) {
			if !inside(mount, path.Clean(od)) {
				return nil, optionErrorf("farm: k8s: plan out_dir %q is outside the volume mounted at %s", p.OutDir, mount)
			}
		} else if !inside(mount, path.Join(planDirInPod, od)) {
			return nil, optionErrorf("farm: k8s: plan out_dir %q leaves the volume mounted at %s", p.OutDir, mount)
		}
	}

	output := opts.Output
	if output == "" {
		output = "output.mp4"
	}
	output = filepath.ToSlash(output)
	if !path.IsAbs(output) {
		output = path.Join(mount, output)
	}
	output = path.Clean(output)
	if !inside(mount, output) || output == mount {
		return nil, optionErrorf("farm: k8s: output %q is not inside the volume mounted at %s", opts.Output, mount)
	}

	name := opts.Name
	if name == "" {
		name = "vidnst"
	}
	renderName, mergeName := name+"-render", name+"-merge"
	// Indexed Job pods get the host name NAME-render-INDEX, a DNS label.
	podHost := fmt.Sprintf("%s-%d", renderName, n-1)
	if errs := validation.IsDNS1123Label(podHost); len(errs) > 0 {
		return nil, optionErrorf("farm: k8s: name %q gives pod host name %q: %s", name, podHost, errs[0])
	}
	if opts.Namespace != "" {
		if errs := validation.IsDNS1123Label(opts.Namespace); len(errs) > 0 {
			return nil, optionErrorf("farm: k8s: namespace %q: %s", opts.Namespace, errs[0])
		}
	}
	command := opts.Command
	if len(command) == 0 {
		command = []string{"vidnst"}
	}
	res, err := opts.Resources.requirements()
	if err != nil {
		return nil, err
	}
	parallelism := int32(n)
	if opts.Parallelism > 0 && opts.Parallelism < parallelism {
		parallelism = opts.Parallelism
	}
	backoff := opts.BackoffLimitPerIndex
	if backoff == 0 {
		backoff = 2
	} else if backoff < 0 {
		backoff = 0
	}
	wait := opts.MergeWaitTimeout
	if wait <= 0 {
		wait = 12 * time.Hour
	}

	volumes := []corev1.Volume{{
		Name: "work",
		VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: opts.PVC},
		},
	}}
	mounts := []corev1.VolumeMount{{Name: "work", MountPath: mount}}
	labels := func(component string) map[string]string {
		return map[string]string{
			"app.kubernetes.io/name":      "vidnst",
			"app.kubernetes.io/instance":  name,
			"app.kubernetes.io/component": component,
		}
	}

	render := batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Name: renderName, Namespace: opts.Namespace, Labels: labels("render")},
		Spec: batchv1.JobSpec{
			CompletionMode:       ptr(batchv1.IndexedCompletion),
			Completions:          ptr(int32(n)),
			Parallelism:          ptr(parallelism),
			BackoffLimitPerIndex: ptr(backoff),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels("render")},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Volumes:       volumes,
					Containers: []corev1.Container{{
						Name:    "render",
						Image:   opts.Image,
						Command: command,
						Args: append([]string{"render", "--plan", planInPod,
							"--chunk", "$(JOB_COMPLETION_INDEX)", "--progress", "lines"},
							GPURenderArgs(p, opts.Resources.GPU, opts.RenderArgs)...),
						WorkingDir: planDirInPod,
						Env: []corev1.EnvVar{{
							Name: "JOB_COMPLETION_INDEX",
							ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
								FieldPath: "metadata.annotations['" + batchv1.JobCompletionIndexAnnotation + "']",
							}},
						}},
						VolumeMounts:    mounts,
						Resources:       res,
						ImagePullPolicy: opts.ImagePullPolicy,
					}},
				},
			},
		},
	}
	if opts.MaxFailedIndexes > 0 {
		render.Spec.MaxFailedIndexes = ptr(opts.MaxFailedIndexes)
	}
	if len(opts.FailIndexExitCodes) > 0 {
		render.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
			{
				Action: batchv1.PodFailurePolicyActionFailIndex,
				OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
					ContainerName: ptr("render"),
					Operator:      batchv1.PodFailurePolicyOnExitCodesOpIn,
					Values:        append([]int32(nil), opts.FailIndexExitCodes...),
				},
			},
			{
				Action: batchv1.PodFailurePolicyActionIgnore,
				OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{
					{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue},
				},
			},
		}}
	}

	merge := batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Name: mergeName, Namespace: opts.Namespace, Labels: labels("merge")},
		Spec: batchv1.JobSpec{
			Completions:  ptr(int32(1)),
			Parallelism:  ptr(int32(1)),
			BackoffLimit: ptr(int32(2)),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels("merge")},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Volumes:       volumes,
					Containers: []corev1.Container{{
						Name:            "merge",
						Image:           opts.Image,
						Command:         command,
						Args:            []string{"merge", MergeWaitFlag, wait.String(), planInPod, output},
						WorkingDir:      planDirInPod,
						VolumeMounts:    mounts,
						ImagePullPolicy: opts.ImagePullPolicy,
					}},
				},
			},
		},
	}

	var buf bytes.Buffer
	for i, job := range []batchv1.Job{render, merge} {
		data, err := yaml.Marshal(job)
		if err != nil {
			return nil, fmt.Errorf("farm: k8s: encode job %s: %w", job.Name, err)
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(data)
	}
	return buf.Bytes(), nil
}

func (r K8sResources) requirements() (corev1.ResourceRequirements, error) {
	var req corev1.ResourceRequirements
	set := func(name corev1.ResourceName, q string, request bool) error {
		v, err := resource.ParseQuantity(q)
		if err != nil {
			return optionErrorf("farm: k8s: %s quantity %q: %v", name, q, err)
		}
		if v.Sign() <= 0 { // Kubernetes refuses a negative one, and a pod cannot run on none
			return optionErrorf("farm: k8s: %s quantity %q: want more than 0", name, q)
		}
		if req.Limits == nil {
			req.Limits = corev1.ResourceList{}
		}
		req.Limits[name] = v
		if request {
			if req.Requests == nil {
				req.Requests = corev1.ResourceList{}
			}
			req.Requests[name] = v
		}
		return nil
	}
	if r.CPU != "" {
		if err := set(corev1.ResourceCPU, r.CPU, true); err != nil {
			return req, err
		}
	}
	if r.Memory != "" {
		if err := set(corev1.ResourceMemory, r.Memory, true); err != nil {
			return req, err
		}
	}
	if r.GPU > 0 {
		name := r.GPUResource
		if name == "" {
			name = "nvidia.com/gpu"
		}
		if err := set(corev1.ResourceName(name), fmt.Sprint(r.GPU), false); err != nil {
			return req, err
		}
	}
	return req, nil
}

// inside reports whether the clean slash path p is root or below it.
func inside(root, p string) bool {
	p = path.Clean(p)
	return p == root || strings.HasPrefix(p, strings.TrimSuffix(root, "/")+"/")
}

func ptr[T any](v T) *T { return &v }

// Decode parses multi-document YAML as written by [K8sManifests] back into
// Jobs (documents are separated by lines that are exactly "---"; empty
// documents are skipped). Unknown fields and documents that are not
// batch/v1 Jobs are errors.
func Decode(data []byte) ([]batchv1.Job, error) {
	var jobs []batchv1.Job
	for i, doc := range splitYAML(data) {
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var job batchv1.Job
		if err := yaml.UnmarshalStrict(doc, &job); err != nil {
			return nil, fmt.Errorf("farm: k8s: yaml document %d: %v", i+1, err)
		}
		if job.APIVersion != "batch/v1" || job.Kind != "Job" {
			return nil, fmt.Errorf("farm: k8s: yaml document %d is %s %s, not a batch/v1 Job", i+1, job.APIVersion, job.Kind)
		}
		jobs = append(jobs, job)
	}
	return jobs, nil
}

func splitYAML(data []byte) [][]byte {
	var docs [][]byte
	var cur []byte
	for _, line := range bytes.SplitAfter(data, []byte("\n")) {
		if string(bytes.TrimRight(line, "\r\n")) == "---" {
			docs = append(docs, cur)
			cur = nil
			continue
		}
		cur = append(cur, line...)
	}
	return append(docs, cur)
}
