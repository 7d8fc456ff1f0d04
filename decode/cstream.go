package decode

// #cgo pkg-config: libavformat libavutil
// #include <libavformat/avformat.h>
// #include <libavutil/pixdesc.h>
import "C"

import (
	"unsafe"

	"github.com/asticode/go-astiav"
)

// What astiav 0.16 does not expose of a stream: read from the C structs
// (astiav's Stream and CodecParameters hold the C pointer as their first
// field).

func cStream(s *astiav.Stream) *C.AVStream { return *(**C.AVStream)(unsafe.Pointer(s)) }

func cParams(cp *astiav.CodecParameters) *C.AVCodecParameters {
	return *(**C.AVCodecParameters)(unsafe.Pointer(cp))
}

// attachedPic reports whether s is an attached picture (cover art), by its
// disposition.
func attachedPic(s *astiav.Stream) bool {
	return cStream(s).disposition&C.AV_DISPOSITION_ATTACHED_PIC != 0
}

// defaultStream reports whether s carries the default disposition.
func defaultStream(s *astiav.Stream) bool {
	return cStream(s).disposition&C.AV_DISPOSITION_DEFAULT != 0
}

// fieldOrderName is the stream's field order as ffprobe names it
// ("progressive", "tt", "bb", "tb", "bt"), "" when unknown.
func fieldOrderName(cp *astiav.CodecParameters) string {
	switch cParams(cp).field_order {
	case C.AV_FIELD_PROGRESSIVE:
		return "progressive"
	case C.AV_FIELD_TT:
		return "tt"
	case C.AV_FIELD_BB:
		return "bb"
	case C.AV_FIELD_TB:
		return "tb"
	case C.AV_FIELD_BT:
		return "bt"
	}
	return ""
}

// transferName is FFmpeg's name of a transfer characteristic (the one its
// color_trc option takes), "" when unspecified.
func transferName(t astiav.ColorTransferCharacteristic) string {
	if t == astiav.ColorTransferCharacteristicUnspecified || t == astiav.ColorTransferCharacteristicReserved || t == astiav.ColorTransferCharacteristicReserved0 {
		return ""
	}
	if s := C.av_color_transfer_name(C.enum_AVColorTransferCharacteristic(t)); s != nil {
		return C.GoString(s)
	}
	return ""
}

// primariesName is FFmpeg's name of colour primaries (its color_primaries
// option's), "" when unspecified.
func primariesName(p astiav.ColorPrimaries) string {
	if p == astiav.ColorPrimariesUnspecified || p == astiav.ColorPrimariesReserved || p == astiav.ColorPrimariesReserved0 {
		return ""
	}
	if s := C.av_color_primaries_name(C.enum_AVColorPrimaries(p)); s != nil {
		return C.GoString(s)
	}
	return ""
}

// videoDelay is how many frames the stream's decoder holds back to
// reorder them (its B-frames' depth; 0: decode order is display order).
func videoDelay(cp *astiav.CodecParameters) int { return int(cParams(cp).video_delay) }

// pixFmtAlpha reports whether pixel format p carries an alpha channel.
func pixFmtAlpha(p astiav.PixelFormat) bool {
	d := C.av_pix_fmt_desc_get(int32(p))
	return d != nil && d.flags&C.AV_PIX_FMT_FLAG_ALPHA != 0
}

// pixFmtDepth is the bits per sample of a pixel format's first component
// (8 for yuv420p, 10 for yuv420p10le), 0 when unknown.
func pixFmtDepth(p astiav.PixelFormat) int {
	d := C.av_pix_fmt_desc_get(int32(p))
	if d == nil {
		return 0
	}
	return int(d.comp[0].depth)
}
