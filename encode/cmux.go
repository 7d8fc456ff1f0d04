package encode

// #cgo pkg-config: libavformat libavcodec libavutil
// #include <libavformat/avformat.h>
// #include <libavcodec/avcodec.h>
// #include <libavutil/frame.h>
// #include <libavutil/mem.h>
// #include <libavutil/dict.h>
// #include <string.h>
// #include <stdlib.h>
//
// // copy_chapters copies the chapters of in that overlap [start, end)
// // (AV_TIME_BASE units; end <= 0: no end) into out, shifted by -start.
// // A chapter that overlaps by less than 0.1 s (one ending where the range
// // starts, or starting where it ends, give or take a frame) is left out:
// // it would be a chapter of no length, or two at 0:00. A chapter shorter
// // than that (a marker) is kept where it starts inside the range.
// static int copy_chapters(AVFormatContext *in, AVFormatContext *out, int64_t start, int64_t end) {
//     for (unsigned i = 0; i < in->nb_chapters; i++) {
//         AVChapter *ic = in->chapters[i];
//         int64_t off = av_rescale_q(start, AV_TIME_BASE_Q, ic->time_base);
//         int64_t lim = end > 0 ? av_rescale_q(end, AV_TIME_BASE_Q, ic->time_base) : INT64_MAX;
//         int64_t min = av_rescale_q(100000, AV_TIME_BASE_Q, ic->time_base);
//         if (ic->end < off || ic->start > lim) continue;
//         if (ic->end - ic->start < min ? (ic->start < off || ic->start >= lim)
//                                       : FFMIN(lim, ic->end) - FFMAX(off, ic->start) < min) continue;
//         AVChapter *oc = av_mallocz(sizeof(AVChapter));
//         if (!oc) return AVERROR(ENOMEM);
//         oc->id = ic->id;
//         oc->time_base = ic->time_base;
//         oc->start = FFMAX(0, ic->start - off);
//         oc->end = FFMAX(oc->start, FFMIN(lim, ic->end) - off);
//         av_dict_copy(&oc->metadata, ic->metadata, 0);
//         AVChapter **tmp = av_realloc_array(out->chapters, out->nb_chapters + 1, sizeof(*out->chapters));
//         if (!tmp) { av_dict_free(&oc->metadata); av_free(oc); return AVERROR(ENOMEM); }
//         out->chapters = tmp;
//         out->chapters[out->nb_chapters++] = oc;
//     }
//     return 0;
// }
//
// static void copy_metadata(AVDictionary **dst, AVDictionary *src) { av_dict_copy(dst, src, 0); }
// static AVDictionary **fc_metadata(AVFormatContext *fc) { return &fc->metadata; }
// static AVDictionary **st_metadata(AVStream *st) { return &st->metadata; }
// static unsigned fc_nb_chapters(AVFormatContext *fc) { return fc->nb_chapters; }
// static int st_disposition(AVStream *st) { return st->disposition; }
// static void st_set_disposition(AVStream *st, int d) { st->disposition = d; }
// static int make_writable(AVFrame *f) { return av_frame_make_writable(f); }
// static void copy_video_tags(AVStream *dst, AVStream *src) {
//     static const char *keys[] = {"language", "title"};
//     for (int i = 0; i < 2; i++) {
//         AVDictionaryEntry *e = av_dict_get(src->metadata, keys[i], NULL, 0);
//         if (e) av_dict_set(&dst->metadata, keys[i], e->value, 0);
//     }
//     dst->disposition |= src->disposition & (AV_DISPOSITION_DEFAULT | AV_DISPOSITION_FORCED);
// }
// static int encoder_is_video(const char *name) {
//     const AVCodec *c = avcodec_find_encoder_by_name(name);
//     return c && c->type == AVMEDIA_TYPE_VIDEO;
// }
// static int query_codec(AVFormatContext *fc, int id) {
//     return avformat_query_codec(fc->oformat, id, FF_COMPLIANCE_NORMAL);
// }
import "C"

import (
	"unsafe"

	"github.com/asticode/go-astiav"
)

// go-astiav 0.16 (the last release for FFmpeg 5.1) does not expose chapters,
// writable metadata, dispositions or avformat_query_codec. Its FormatContext
// and Stream hold the C pointer as their only field; these helpers read it.
// TestCPointers checks that this still holds for the pinned version.

func cFormat(fc *astiav.FormatContext) *C.AVFormatContext {
	return *(**C.AVFormatContext)(unsafe.Pointer(fc))
}

func cStream(s *astiav.Stream) *C.AVStream {
	return *(**C.AVStream)(unsafe.Pointer(s))
}

func copyFormatMetadata(dst, src *astiav.FormatContext) {
	C.copy_metadata(C.fc_metadata(cFormat(dst)), *C.fc_metadata(cFormat(src)))
}

func copyStreamMetadata(dst, src *astiav.Stream) {
	C.copy_metadata(C.st_metadata(cStream(dst)), *C.st_metadata(cStream(src)))
	C.st_set_disposition(cStream(dst), C.st_disposition(cStream(src)))
}

func setStreamMetadata(s *astiav.Stream, key, value string) {
	k, v := C.CString(key), C.CString(value)
	defer C.free(unsafe.Pointer(k))
	defer C.free(unsafe.Pointer(v))
	C.av_dict_set(C.st_metadata(cStream(s)), k, v, 0)
}

// copyChapters copies chapters overlapping [startUS, endUS) (microseconds;
// endUS <= 0: to the end), shifted to start at 0.
func copyChapters(dst, src *astiav.FormatContext, startUS, endUS int64) error {
	if rc := C.copy_chapters(cFormat(src), cFormat(dst), C.int64_t(startUS), C.int64_t(endUS)); rc < 0 {
		return astiav.Error(rc)
	}
	return nil
}

func nbChapters(fc *astiav.FormatContext) int { return int(C.fc_nb_chapters(cFormat(fc))) }

// isVideoEncoder reports whether the encoder called name encodes video.
func isVideoEncoder(name string) bool {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	return C.encoder_is_video(cs) != 0
}

// copyVideoTags gives the output's video stream dst what describes the
// input's src rather than its coding: its language and title tags, and
// its default and forced flags.
func copyVideoTags(dst, src *astiav.Stream) {
	C.copy_video_tags(cStream(dst), cStream(src))
}

// containerAccepts reports whether the output container can store codec id
// (avformat_query_codec; unknown counts as yes, as FFmpeg's CLI does).
func containerAccepts(fc *astiav.FormatContext, id astiav.CodecID) bool {
	// FFmpeg 5.1's mov muxer lists VP9, AV1 and Opus but writes them in
	// MP4 only: in .mov they fail at the header.
	if f := fc.OutputFormat(); f != nil && f.Name() == "mov" && (id == astiav.CodecIDVp9 || id == astiav.CodecID(C.AV_CODEC_ID_AV1) || id == astiav.CodecIDOpus) {
		return false
	}
	return C.query_codec(cFormat(fc), C.int(id)) != 0
}

// subtitleAccepted is containerAccepts for a subtitle codec: where the
// container does not say (MPEG-TS knows no list), only DVB subtitles and
// teletext, which MPEG-TS carries natively; it would store the others
// (SRT, ASS, PGS, DVD) as a private data stream no player shows.
func subtitleAccepted(fc *astiav.FormatContext, id astiav.CodecID) bool {
	switch C.query_codec(cFormat(fc), C.int(id)) {
	case 1:
		return true
	case 0:
		return false
	}
	return id == astiav.CodecIDDvbSubtitle || id == astiav.CodecIDDvbTeletext
}

// makeWritable makes f's buffers writable (copies them only if another
// reference still holds them).
func makeWritable(f *astiav.Frame) error {
	if rc := C.make_writable((*C.AVFrame)(f.UnsafePointer())); rc < 0 {
		return astiav.Error(rc)
	}
	return nil
}

// framePlane returns plane i of f without copying (valid until f is unref'd).
func framePlane(f *astiav.Frame, i, h int) ([]byte, int) {
	cf := (*C.AVFrame)(f.UnsafePointer())
	ls := int(cf.linesize[i])
	if ls <= 0 || cf.data[i] == nil {
		return nil, 0
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(cf.data[i])), ls*h), ls
}
