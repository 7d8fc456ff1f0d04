package farm

import (
	"github.com/stretchr/testify/require"
	"testing"
)

type span struct{ s, e int }

func spans(cs []Chunk) []span {
	var out []span
	for _, c := range cs {
		out = append(out, span{c.Start, c.End})
	}
	return out
}

func checkCover(t *testing.T, cs []Chunk, frames int) {
	t.Helper()
	next := 0
	for i, c := range cs {
		require.Equal(t, i, c.Index)
		require.Equal(t, next, c.Start)
		require.Greater(t, c.End, c.Start, "empty chunk %d", i)
		require.Equal(t, ChunkFileName(i, len(cs), ".mp4"), c.File)
		next = c.End
	}
	require.Equal(t, frames, next)
}

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		name      string
		frames, n int
		keyframes []int
		want      []span
	}{
		{"one chunk", 10, 1, nil, []span{{0, 10}}},
		{"even", 100, 4, nil, []span{{0, 25}, {25, 50}, {50, 75}, {75, 100}}},
		{"uneven rounds", 10, 3, nil, []span{{0, 3}, {3, 7}, {7, 10}}},
		{"n > frames", 3, 10, nil, []span{{0, 1}, {1, 2}, {2, 3}}},
		{"n == frames", 3, 3, []int{0, 1, 2}, []span{{0, 1}, {1, 2}, {2, 3}}},
		{"keyframes only at 0", 100, 4, []int{0}, []span{{0, 25}, {25, 50}, {50, 75}, {75, 100}}},
		{"snap to near keyframes", 100, 4, []int{0, 20, 48, 81}, []span{{0, 20}, {20, 48}, {48, 81}, {81, 100}}},
		{"keyframe too far", 100, 4, []int{0, 10, 56, 90}, []span{{0, 25}, {25, 56}, {56, 75}, {75, 100}}},
		{"tolerance edge", 100, 2, []int{44, 56}, []span{{0, 44}, {44, 100}}}, // tol 12: both within, tie -> earlier
		{"just outside", 100, 2, []int{37, 63}, []span{{0, 50}, {50, 100}}},
		{"gop 12", 120, 3, []int{0, 12, 24, 36, 48, 60, 72, 84, 96, 108}, []span{{0, 36}, {36, 84}, {84, 120}}},
		{"unsorted dup out of range", 100, 4, []int{81, -5, 20, 48, 20, 100, 500}, []span{{0, 20}, {20, 48}, {48, 81}, {81, 100}}},
		{"all keyframes", 10, 3, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, []span{{0, 3}, {3, 7}, {7, 10}}},
		{"two frames", 2, 2, nil, []span{{0, 1}, {1, 2}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Split(tc.frames, tc.keyframes, tc.n)
			checkCover(t, got, tc.frames)
			require.Equal(t, tc.want, spans(got))
		})
	}
	require.Nil(t, Split(0, nil, 3))
	require.Nil(t, Split(10, nil, 0))
	require.Nil(t, Split(-1, nil, 1))
}

func TestSplitNeverEmpty(t *testing.T) {
	// Dense random-ish keyframes, many sizes: always a valid cover.
	for frames := 1; frames <= 200; frames += 7 {
		var kf []int
		for k := 0; k < frames; k += 1 + (k*31)%13 {
			kf = append(kf, k)
		}
		for n := 1; n <= 40; n += 3 {
			got := Split(frames, kf, n)
			require.Len(t, got, min(n, frames))
			checkCover(t, got, frames)
		}
	}
}

func TestSplitSeconds(t *testing.T) {
	for _, tc := range []struct {
		name    string
		frames  int
		rate    Rational
		seconds float64
		n       int
	}{
		{"exact", 300, Rational{30, 1}, 2, 5},
		{"round up", 301, Rational{30, 1}, 2, 6},
		{"ntsc", 1800, Rational{30000, 1001}, 10, 7}, // 60.06 s
		{"longer than clip", 30, Rational{30, 1}, 60, 1},
		{"shorter than a frame", 30, Rational{30, 1}, 0.01, 30},
		{"far shorter than a frame", 30, Rational{30, 1}, 1e-19, 30}, // overflowed to 1 chunk
		{"smallest float", 30, Rational{30, 1}, 5e-324, 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := SplitSeconds(tc.frames, nil, tc.rate, tc.seconds)
			require.Len(t, got, tc.n)
			checkCover(t, got, tc.frames)
		})
	}
	require.Nil(t, SplitSeconds(100, nil, Rational{0, 1}, 2))
	require.Nil(t, SplitSeconds(100, nil, Rational{30, 1}, 0))
	require.Nil(t, SplitSeconds(0, nil, Rational{30, 1}, 2))
}
