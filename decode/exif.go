package decode

import (
	"encoding/binary"
	"io"
	"os"
)

// exifRotation is the clockwise turn (0, 90, 180 or 270) a JPEG's EXIF
// Orientation tag asks a viewer to show the picture with, as phones store
// photos taken sideways; 0 when the file has no such tag or another value
// (the mirrored orientations 2, 4, 5 and 7 are not turned). It reads the
// APP1 segments at the file's head only.
func exifRotation(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	head := make([]byte, 128<<10)
	n, _ := io.ReadFull(f, head)
	b := head[:n]
	if len(b) < 4 || b[0] != 0xff || b[1] != 0xd8 {
		return 0
	}
	for i := 2; i+4 <= len(b) && b[i] == 0xff; {
		marker, size := b[i+1], int(binary.BigEndian.Uint16(b[i+2:]))
		if marker == 0xda || size < 2 || i+2+size > len(b) { // start of scan: no more metadata
			return 0
		}
		seg := b[i+4 : i+2+size]
		if marker == 0xe1 && len(seg) > 6 && string(seg[:6]) == "Exif\x00\x00" {
			return map[int]int{3: 180, 6: 90, 8: 270}[tiffOrientation(seg[6:])]
		}
		i += 2 + size
	}
	return 0
}

// tiffOrientation reads tag 0x0112 (Orientation) of the first IFD of the
// TIFF structure t; 0 when absent or malformed.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	off := int(bo.Uint32(t[4:]))
	if off < 8 || off+2 > len(t) {
		return 0
	}
	count := int(bo.Uint16(t[off:]))
	for k := range count {
		e := off + 2 + 12*k
		if e+12 > len(t) {
			return 0
		}
		if bo.Uint16(t[e:]) == 0x0112 && bo.Uint16(t[e+2:]) == 3 { // SHORT
			return int(bo.Uint16(t[e+8:]))
		}
	}
	return 0
}
