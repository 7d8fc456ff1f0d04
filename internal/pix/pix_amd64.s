#include "textflag.h"

DATA pixZero<>+0(SB)/8, $0
DATA pixZero<>+8(SB)/8, $0
DATA pixZero<>+16(SB)/8, $0
DATA pixZero<>+24(SB)/8, $0
GLOBL pixZero<>(SB), RODATA|NOPTR, $32

// 255.0 and 0.5 as float32.
DATA pixMax<>+0(SB)/8, $0x437f0000437f0000
DATA pixMax<>+8(SB)/8, $0x437f0000437f0000
DATA pixMax<>+16(SB)/8, $0x437f0000437f0000
DATA pixMax<>+24(SB)/8, $0x437f0000437f0000
GLOBL pixMax<>(SB), RODATA|NOPTR, $32

DATA pixHalf<>+0(SB)/8, $0x3f0000003f000000
DATA pixHalf<>+8(SB)/8, $0x3f0000003f000000
DATA pixHalf<>+16(SB)/8, $0x3f0000003f000000
DATA pixHalf<>+24(SB)/8, $0x3f0000003f000000
GLOBL pixHalf<>(SB), RODATA|NOPTR, $32

// Dword order that undoes the in-lane packs: 0, 4, 1, 5, 2, 6, 3, 7.
DATA pixPerm<>+0(SB)/8, $0x0000000400000000
DATA pixPerm<>+8(SB)/8, $0x0000000500000001
DATA pixPerm<>+16(SB)/8, $0x0000000600000002
DATA pixPerm<>+24(SB)/8, $0x0000000700000003
GLOBL pixPerm<>(SB), RODATA|NOPTR, $32

// func widenAVX2(dst *float32, src *uint8, n int)
TEXT ·widenAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $5, CX
	JZ   wdone

wloop:
	VPMOVZXBD 0(SI), Y0
	VPMOVZXBD 8(SI), Y1
	VPMOVZXBD 16(SI), Y2
	VPMOVZXBD 24(SI), Y3
	VCVTDQ2PS Y0, Y0
	VCVTDQ2PS Y1, Y1
	VCVTDQ2PS Y2, Y2
	VCVTDQ2PS Y3, Y3
	VMOVUPS Y0, 0(DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $32, SI
	ADDQ $128, DI
	DECQ CX
	JNZ  wloop

wdone:
	VZEROUPPER
	RET

// func quantizeAVX2(dst *uint8, src *float32, n int)
//
// max(v, 0) takes v as the first source, so NaN gives 0 (MAXPS returns the
// second source when either is NaN), as Byte; then min with 255, + 0.5
// and truncation.
TEXT ·quantizeAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $5, CX
	JZ   qdone
	VMOVUPS pixZero<>(SB), Y12
	VMOVUPS pixMax<>(SB), Y13
	VMOVUPS pixHalf<>(SB), Y14
	VMOVDQU pixPerm<>(SB), Y15

qloop:
	VMOVUPS 0(SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VMAXPS Y12, Y0, Y0
	VMAXPS Y12, Y1, Y1
	VMAXPS Y12, Y2, Y2
	VMAXPS Y12, Y3, Y3
	VMINPS Y13, Y0, Y0
	VMINPS Y13, Y1, Y1
	VMINPS Y13, Y2, Y2
	VMINPS Y13, Y3, Y3
	VADDPS Y14, Y0, Y0
	VADDPS Y14, Y1, Y1
	VADDPS Y14, Y2, Y2
	VADDPS Y14, Y3, Y3
	VCVTTPS2DQ Y0, Y0
	VCVTTPS2DQ Y1, Y1
	VCVTTPS2DQ Y2, Y2
	VCVTTPS2DQ Y3, Y3
	VPACKUSDW Y1, Y0, Y0
	VPACKUSDW Y3, Y2, Y2
	VPACKUSWB Y2, Y0, Y0
	VPERMD Y0, Y15, Y0
	VMOVDQU Y0, 0(DI)
	ADDQ $128, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  qloop

qdone:
	VZEROUPPER
	RET
