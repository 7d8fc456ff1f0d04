package farm

import (
	"github.com/stretchr/testify/require"
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestK8sManifests(t *testing.T) {
	p, planPath := newTestPlan(t, "", 100, 50, 5)
	out, err := K8sManifests(p, planPath, K8sOptions{
		Image:                "registry.example/vidnst:1.0",
		PVC:                  "render-data",
		Parallelism:          3,
		BackoffLimitPerIndex: 4,
		MaxFailedIndexes:     2,
		FailIndexExitCodes:   []int32{3},
		Namespace:            "studio",
		Name:                 "clip42",
		Output:               "final/out.mp4",
		Resources:            K8sResources{CPU: "4", Memory: "16Gi", GPU: 1},
		MergeWaitTimeout:     90 * time.Minute,
	})
	require.NoError(t, err)
	require.Equal(t, 1, strings.Count(string(out), "\n---\n"), string(out))

	jobs, err := Decode(out)
	require.NoError(t, err)
	require.Len(t, jobs, 2)
	render, merge := jobs[0], jobs[1]

	// Render: an Indexed Job over the chunks.
	require.Equal(t, "batch/v1", render.APIVersion)
	require.Equal(t, "Job", render.Kind)
	require.Equal(t, "clip42-render", render.Name)
	require.Equal(t, "studio", render.Namespace)
	s := render.Spec
	require.Equal(t, batchv1.IndexedCompletion, *s.CompletionMode)
	require.EqualValues(t, 5, *s.Completions)
	require.EqualValues(t, 3, *s.Parallelism)
	require.EqualValues(t, 4, *s.BackoffLimitPerIndex)
	require.EqualValues(t, 2, *s.MaxFailedIndexes)
	require.Nil(t, s.BackoffLimit)
	require.Len(t, s.PodFailurePolicy.Rules, 2)
	require.Equal(t, batchv1.PodFailurePolicyActionFailIndex, s.PodFailurePolicy.Rules[0].Action)
	require.Equal(t, []int32{3}, s.PodFailurePolicy.Rules[0].OnExitCodes.Values)
	pod := s.Template.Spec
	require.Equal(t, corev1.RestartPolicyNever, pod.RestartPolicy)
	require.Len(t, pod.Volumes, 1)
	require.Equal(t, "render-data", pod.Volumes[0].PersistentVolumeClaim.ClaimName)
	require.Len(t, pod.Containers, 1)
	c := pod.Containers[0]
	require.Equal(t, "registry.example/vidnst:1.0", c.Image)
	require.Equal(t, []string{"vidnst"}, c.Command)
	require.Equal(t, []string{"render", "--plan", "/work/plan.json", "--chunk", "$(JOB_COMPLETION_INDEX)", "--progress", "lines", "--device", "cuda"}, c.Args) // GPU pods ask for it
	require.Equal(t, "/work", c.WorkingDir)
	require.Equal(t, []corev1.VolumeMount{{Name: pod.Volumes[0].Name, MountPath: "/work"}}, c.VolumeMounts)
	require.Len(t, c.Env, 1)
	require.Equal(t, "JOB_COMPLETION_INDEX", c.Env[0].Name)
	require.Equal(t, "metadata.annotations['batch.kubernetes.io/job-completion-index']", c.Env[0].ValueFrom.FieldRef.FieldPath)
	require.True(t, resource.MustParse("4").Equal(c.Resources.Requests[corev1.ResourceCPU]))
	require.True(t, resource.MustParse("16Gi").Equal(c.Resources.Limits[corev1.ResourceMemory]))
	require.True(t, resource.MustParse("1").Equal(c.Resources.Limits["nvidia.com/gpu"]))
	_, gpuRequested := c.Resources.Requests["nvidia.com/gpu"]
	require.False(t, gpuRequested)

	// Merge: a single pod waiting for the chunks.
	require.Equal(t, "clip42-merge", merge.Name)
	require.Nil(t, merge.Spec.CompletionMode)
	require.EqualValues(t, 1, *merge.Spec.Completions)
	mpod := merge.Spec.Template.Spec
	require.Equal(t, corev1.RestartPolicyNever, mpod.RestartPolicy)
	require.Equal(t, "render-data", mpod.Volumes[0].PersistentVolumeClaim.ClaimName)
	mc := mpod.Containers[0]
	require.Equal(t, []string{"merge", "--wait-chunks", "1h30m0s", "/work/plan.json", "/work/final/out.mp4"}, mc.Args)
	require.Equal(t, "/work", mc.VolumeMounts[0].MountPath)
}

func TestK8sManifestsPaths(t *testing.T) {
	base := t.TempDir()
	// Plan in a sub-folder of the volume, input one level up (still inside).
	sub := filepath.Join(base, "jobs", "a")
	p, planPath := newTestPlan(t, "", 100, 10, 2)
	p.Input.RelPath = "../../in put.mp4"
	_ = sub

	out, err := K8sManifests(p, planPath, K8sOptions{Image: "i", PVC: "v", MountPath: "/mnt/data/", PlanSubPath: "jobs/a/plan.json", Output: "/mnt/data/o.mp4"})
	require.NoError(t, err)
	jobs, err := Decode(out)
	require.NoError(t, err)
	c := jobs[0].Spec.Template.Spec.Containers[0]
	require.Equal(t, "/mnt/data/jobs/a/plan.json", c.Args[2])
	require.Equal(t, "/mnt/data/jobs/a", c.WorkingDir)
	require.EqualValues(t, 2, *jobs[0].Spec.Parallelism) // default: one per chunk
	require.EqualValues(t, 2, *jobs[0].Spec.BackoffLimitPerIndex)
	require.Nil(t, jobs[0].Spec.PodFailurePolicy)
	require.Equal(t, "/mnt/data/o.mp4", jobs[1].Spec.Template.Spec.Containers[0].Args[4])
	require.Equal(t, "12h0m0s", jobs[1].Spec.Template.Spec.Containers[0].Args[2])

	for _, tc := range []struct {
		name   string
		mutate func(p *Plan, o *K8sOptions)
		want   string
	}{
		{"no image", func(p *Plan, o *K8sOptions) { o.Image = "" }, "image is empty"},
		{"no pvc", func(p *Plan, o *K8sOptions) { o.PVC = "" }, "pvc is empty"},
		{"bad pvc", func(p *Plan, o *K8sOptions) { o.PVC = "Bad_Name" }, "pvc name"},
		{"input escapes", func(p *Plan, o *K8sOptions) { p.Input.RelPath = "../../../x.mp4" }, "outside the volume"},
		{"no rel path", func(p *Plan, o *K8sOptions) { p.Input.RelPath = "" }, "no input path relative"},
		{"out dir escapes", func(p *Plan, o *K8sOptions) { p.OutDir = "../../../o" }, "leaves the volume"},
		{"abs out dir", func(p *Plan, o *K8sOptions) { p.OutDir = "/elsewhere" }, "outside the volume"},
		{"output escapes", func(p *Plan, o *K8sOptions) { o.Output = "../o.mp4" }, "not inside the volume"},
		{"plan sub escapes", func(p *Plan, o *K8sOptions) { o.PlanSubPath = "../plan.json" }, "inside the volume"},
		{"relative mount", func(p *Plan, o *K8sOptions) { o.MountPath = "work" }, "not absolute"},
		{"long name", func(p *Plan, o *K8sOptions) { o.Name = strings.Repeat("a", 60) }, "pod host name"},
		{"bad cpu", func(p *Plan, o *K8sOptions) { o.Resources.CPU = "lots" }, "cpu quantity"},
		{"negative cpu", func(p *Plan, o *K8sOptions) { o.Resources.CPU = "-1" }, `cpu quantity "-1": want more than 0`},
		{"no memory", func(p *Plan, o *K8sOptions) { o.Resources.Memory = "0Gi" }, `memory quantity "0Gi": want more than 0`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := *p
			o := K8sOptions{Image: "i", PVC: "v", PlanSubPath: "jobs/a/plan.json"}
			tc.mutate(&q, &o)
			_, err := K8sManifests(&q, planPath, o)
			require.ErrorContains(t, err, tc.want)
			require.True(t, strings.HasPrefix(err.Error(), "farm: k8s: "), err.Error())
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	_, err := Decode([]byte("apiVersion: v1\nkind: Pod\n"))
	require.ErrorContains(t, err, "not a batch/v1 Job")
	_, err = Decode([]byte("apiVersion: batch/v1\nkind: Job\nspec:\n  bogus: 1\n"))
	require.ErrorContains(t, err, "farm: k8s: yaml document 1")
	jobs, err := Decode([]byte("---\n\n---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: x\n---\n"))
	require.NoError(t, err)
	require.Len(t, jobs, 1)
}
