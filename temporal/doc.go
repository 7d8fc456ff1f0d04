// Package temporal removes the flicker of per-frame stylization. For each
// frame it computes dense optical flow between consecutive input frames
// (Estimator: DIS-style patch inverse search on a pyramid plus variational
// refinement, at half size above 1024 px), warps the previous output along
// it (bicubic), and combines the warped output with the network's where a
// forward-backward check says the flow holds: Blend mixes the two per pixel,
// Gradient keeps the warped values and the stylized frame's gradients
// (screened Poisson, red-black Gauss-Seidel). Scene cuts and Frame.Reset
// restart the state.
//
// Stage is what the pipeline calls: Prepare(f) (the flow, from input frames
// only, so it can run ahead beside the network) and Apply(f) (in frame
// order, rewriting f.Out in place). The package is pure Go (AVX2 kernels in
// assembly on amd64 with identical Go fallbacks) and allocates nothing per
// frame in steady state. See ARCHITECTURE.md for the contracts.
package temporal
