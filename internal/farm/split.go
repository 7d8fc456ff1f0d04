package farm

import (
	"math"
	"slices"
)

// SnapTolerance is the fraction of the nominal chunk length within which a
// chunk start moves to the nearest keyframe.
const SnapTolerance = 0.25

// Split divides frames [0, frameCount) into n chunks of about equal length
// and returns them with Index and File (see [ChunkFileName], ".mp4") set.
//
// The ideal start of chunk k is round(k*frameCount/n). When a keyframe lies
// within SnapTolerance (25%) of the nominal chunk length floor(frameCount/n)
// of that ideal start, the chunk starts on the nearest such keyframe (the
// earlier one on a tie); otherwise it starts exactly at the ideal frame. Any
// start works, since every chunk is re-encoded, but starts on keyframes make
// seeking to them cheap.
//
// keyframes are frame numbers in any order; duplicates and values outside
// (0, frameCount) are ignored. n is clamped to frameCount, so no chunk is
// ever empty, and the chunks cover [0, frameCount) exactly. Split returns nil
// when frameCount <= 0 or n <= 0.
func Split(frameCount int, keyframes []int, n int) []Chunk {
	if frameCount <= 0 || n <= 0 {
		return nil
	}
	n = min(n, frameCount)
	kf := make([]int, 0, len(keyframes))
	for _, k := range keyframes {
		if k > 0 && k < frameCount {
			kf = append(kf, k)
		}
	}
	slices.Sort(kf)
	kf = slices.Compact(kf)

	tol := int(float64(frameCount/n) * SnapTolerance)
	starts := make([]int, n+1)
	starts[n] = frameCount
	for k := 1; k < n; k++ {
		ideal := int((int64(k)*int64(frameCount) + int64(n)/2) / int64(n))
		s := ideal
		if best, ok := nearest(kf, ideal, tol); ok {
			s = best
		}
		// Never produce an empty chunk, whatever the keyframes: keep
		// starts strictly increasing and leave one frame for each later
		// chunk. (With tol <= len/4 this only guards against rounding.)
		if s <= starts[k-1] || s > frameCount-(n-k) {
			s = ideal
		}
		s = max(s, starts[k-1]+1)
		s = min(s, frameCount-(n-k))
		starts[k] = s
	}
	chunks := make([]Chunk, n)
	for i := range chunks {
		chunks[i] = Chunk{Index: i, Start: starts[i], End: starts[i+1], File: ChunkFileName(i, n, ".mp4")}
	}
	return chunks
}

// nearest returns the keyframe in sorted kf closest to x, if one lies within
// tol of it; the earlier one wins a tie.
func nearest(kf []int, x, tol int) (int, bool) {
	i, _ := slices.BinarySearch(kf, x) // kf[i] >= x
	best, bestD := 0, -1
	for _, j := range []int{i - 1, i} {
		if j < 0 || j >= len(kf) {
			continue
		}
		d := kf[j] - x
		if d < 0 {
			d = -d
		}
		if d <= tol && (bestD < 0 || d < bestD) {
			best, bestD = kf[j], d
		}
	}
	return best, bestD >= 0
}

// SplitSeconds is [Split] with the number of chunks chosen so that each chunk
// lasts about seconds at the given frame rate: n = ceil(frameCount /
// (seconds * fps)), at least 1. It returns nil when frameCount <= 0, seconds
// <= 0 or the frame rate is not positive.
func SplitSeconds(frameCount int, keyframes []int, frameRate Rational, seconds float64) []Chunk {
	fps := frameRate.Float()
	if frameCount <= 0 || !(seconds > 0) || !(fps > 0) || math.IsInf(seconds, 0) {
		return nil
	}
	// In float until bounded: a chunk far shorter than a frame (1e-19 s)
	// overflowed the int and gave one chunk.
	n := min(math.Ceil(float64(frameCount)/(seconds*fps)-1e-9), float64(frameCount))
	return Split(frameCount, keyframes, max(int(n), 1))
}
