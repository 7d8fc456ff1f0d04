package decode

// #cgo pkg-config: libavutil
// #include <stdlib.h>
// #include <libavutil/frame.h>
// #include <libavutil/pixdesc.h>
//
// // frame_transparent reports whether any pixel of f is less than fully
// // opaque (its format's last component is alpha).
// static int frame_transparent(const AVFrame *f) {
//     const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f->format);
//     if (!d || !(d->flags & AV_PIX_FMT_FLAG_ALPHA) || (d->flags & AV_PIX_FMT_FLAG_HWACCEL) || f->width <= 0) return 0;
//     int c = d->nb_components - 1;
//     uint16_t *line = malloc(sizeof(uint16_t) * f->width);
//     if (!line) return 0;
//     int opaque = (1 << d->comp[c].depth) - 1, found = 0;
//     for (int y = 0; y < f->height && !found; y++) {
//         av_read_image_line2(line, (const uint8_t **)f->data, f->linesize, d, 0, y, c, f->width, 0, 2);
//         for (int x = 0; x < f->width; x++) {
//             if (line[x] < opaque) { found = 1; break; }
//         }
//     }
//     free(line);
//     return found;
// }
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/asticode/go-astiav"
)

// plane returns plane i of f (h rows of linesize bytes) without copying. The
// slice aliases the frame's buffer and is valid until f is unref'd.
func plane(f *astiav.Frame, i, h int) ([]byte, int) {
	cf := (*C.AVFrame)(f.UnsafePointer())
	ls := int(cf.linesize[i])
	if ls <= 0 || cf.data[i] == nil {
		return nil, 0
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(cf.data[i])), ls*h), ls
}

// bestEffortTS is the decoder's best guess of f's presentation time.
func bestEffortTS(f *astiav.Frame) int64 {
	return int64((*C.AVFrame)(f.UnsafePointer()).best_effort_timestamp)
}

// transparent reports whether any pixel of f is less than fully opaque.
func transparent(f *astiav.Frame) bool {
	return C.frame_transparent((*C.AVFrame)(f.UnsafePointer())) != 0
}

// keyFrame reports whether the decoder marked f a keyframe, and pktPos is
// the byte position of the packet it came from (-1 unknown).
func keyFrame(f *astiav.Frame) bool {
	return (*C.AVFrame)(f.UnsafePointer()).key_frame != 0
}

func pktPos(f *astiav.Frame) int64 {
	return int64((*C.AVFrame)(f.UnsafePointer()).pkt_pos)
}

// frameDuration is f's duration in its stream's time base (0 if unknown).
func frameDuration(f *astiav.Frame) int64 {
	return int64((*C.AVFrame)(f.UnsafePointer()).pkt_duration)
}

// pixFmtName is the FFmpeg name of a pixel format ("yuv420p").
func pixFmtName(p astiav.PixelFormat) string {
	s := C.av_get_pix_fmt_name(int32(p))
	if s == nil {
		return "unknown"
	}
	return C.GoString(s)
}

// frameInterlaced reports whether f says it is interlaced (and so which
// field comes first).
func frameInterlaced(f *astiav.Frame) bool {
	return (*C.AVFrame)(f.UnsafePointer()).interlaced_frame != 0
}

// setInterlaced marks f as interlaced, top field first where tff (what a
// decoder sets for a frame coded so).
func setInterlaced(f *astiav.Frame, tff bool) {
	cf := (*C.AVFrame)(f.UnsafePointer())
	cf.interlaced_frame = 1
	cf.top_field_first = 0
	if tff {
		cf.top_field_first = 1
	}
}

// copyProps copies src's properties (flags, duration, side data,
// timestamps) to dst, as av_frame_copy_props does.
func copyProps(dst, src *astiav.Frame) error {
	if ret := C.av_frame_copy_props((*C.AVFrame)(dst.UnsafePointer()), (*C.AVFrame)(src.UnsafePointer())); ret < 0 {
		return fmt.Errorf("copy frame properties: error %d", int(ret))
	}
	return nil
}

// frameTFF reports whether f says its top field comes first.
func frameTFF(f *astiav.Frame) bool {
	return (*C.AVFrame)(f.UnsafePointer()).top_field_first != 0
}
