package farm

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// DoneSuffix is appended to a chunk file's path to name its completion
// marker.
const DoneSuffix = ".done"

// DoneRecord is the content of a chunk's completion marker.
type DoneRecord struct {
	Chunk  int    `json:"chunk"`
	Frames int    `json:"frames"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // of the whole chunk file
	// Plan is [Plan.Fingerprint] for this chunk: a marker left by a plan
	// with other settings or another input does not count.
	Plan string `json:"plan"`
}

// DonePath returns the path of chunk i's completion marker.
func (p *Plan) DonePath(i int) string { return p.ChunkPath(i) + DoneSuffix }

// Fingerprint returns a hex SHA-256 over everything that determines chunk
// i's content: the input identity, the settings, WarmUp and the chunk's
// frame range and file name.
func (p *Plan) Fingerprint(i int) string {
	c := p.Chunks[i]
	data, _ := json.Marshal(struct {
		Size     int64
		SHA      string
		Frames   int
		Settings Settings
		WarmUp   int
		Start    int
		End      int
		File     string
	}{p.Input.Size, p.Input.SHA256First1MiB, p.Input.FrameCount, p.Settings, p.WarmUp, c.Start, c.End, c.File})
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// MarkDone records that chunk i's file is complete: it hashes the file and
// writes the marker atomically. frames must equal the chunk's frame count
// (End-Start); anything else is an error and no marker is written. Call it
// only after the chunk file has been renamed into place.
func MarkDone(p *Plan, i int, frames int) error {
	if i < 0 || i >= len(p.Chunks) {
		return fmt.Errorf("farm: chunk %d out of range [0, %d)", i, len(p.Chunks))
	}
	if want := p.Chunks[i].Frames(); frames != want {
		return fmt.Errorf("farm: chunk %d: rendered %d frames, the plan wants %d", i, frames, want)
	}
	size, sum, err := hashFile(p.ChunkPath(i))
	if err != nil {
		return fmt.Errorf("farm: chunk %d: %w", i, err)
	}
	if size == 0 {
		return fmt.Errorf("farm: chunk %d: %s is empty", i, p.ChunkPath(i))
	}
	rec := DoneRecord{Chunk: i, Frames: frames, Size: size, SHA256: sum, Plan: p.Fingerprint(i)}
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("farm: chunk %d: %w", i, err)
	}
	return WriteFileAtomic(p.DonePath(i), append(data, '\n'), 0o666)
}

// ReadDone returns chunk i's marker, or an error when it is missing or
// unreadable. It does not look at the chunk file; see [CheckDone].
func ReadDone(p *Plan, i int) (DoneRecord, error) {
	var rec DoneRecord
	data, err := os.ReadFile(p.DonePath(i))
	if err != nil {
		return rec, fmt.Errorf("farm: chunk %d: no completion marker: %w", i, err)
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		return rec, fmt.Errorf("farm: chunk %d: bad completion marker: %v", i, err)
	}
	return rec, nil
}

// CheckDone returns nil when chunk i is done and valid: the marker exists,
// belongs to this plan and chunk, records the chunk's frame count, and the
// file's size and SHA-256 match it. Otherwise it says why not.
func CheckDone(p *Plan, i int) error {
	if i < 0 || i >= len(p.Chunks) {
		return fmt.Errorf("farm: chunk %d out of range [0, %d)", i, len(p.Chunks))
	}
	rec, err := ReadDone(p, i)
	if err != nil {
		return err
	}
	switch {
	case rec.Chunk != i:
		return fmt.Errorf("farm: chunk %d: marker is for chunk %d", i, rec.Chunk)
	case rec.Plan != p.Fingerprint(i):
		return fmt.Errorf("farm: chunk %d: marker is from a different plan", i)
	case rec.Frames != p.Chunks[i].Frames():
		return fmt.Errorf("farm: chunk %d: marker records %d frames, the plan wants %d", i, rec.Frames, p.Chunks[i].Frames())
	}
	path := p.ChunkPath(i)
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("farm: chunk %d: %w", i, err)
	}
	if st.Size() != rec.Size {
		return fmt.Errorf("farm: chunk %d: %s is %d bytes, marker says %d", i, path, st.Size(), rec.Size)
	}
	_, sum, err := hashFile(path)
	if err != nil {
		return fmt.Errorf("farm: chunk %d: %w", i, err)
	}
	if sum != rec.SHA256 {
		return fmt.Errorf("farm: chunk %d: %s content does not match its marker", i, path)
	}
	return nil
}

// IsDone reports whether chunk i is done and valid (see [CheckDone]).
func IsDone(p *Plan, i int) bool { return CheckDone(p, i) == nil }

// Missing returns, in order, the indices of chunks that are not done and
// valid. It hashes every chunk file, so it reads all of them.
func Missing(p *Plan) []int {
	var out []int
	for i := range p.Chunks {
		if !IsDone(p, i) {
			out = append(out, i)
		}
	}
	return out
}

func hashFile(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}
