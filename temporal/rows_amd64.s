#include "textflag.h"
#include "simd_amd64.h"

// Row kernels of the temporal stage: the flow upsampling (lerpAVX2,
// expand2AVX2, expand4AVX2), the confidence blur (box5AVX2) and the blend
// with the warped previous output (blendAVX2). Each repeats its Go loop's
// operations (no fused multiply-add), so results are identical.

// Horizontal weights of expand2AVX2 (0.25, 0.75) and expand4AVX2 (0.125,
// 0.375, 0.625, 0.875), each broadcast to 8 lanes.
DATA upW<>+0(SB)/8, $0x3e8000003e800000
DATA upW<>+8(SB)/8, $0x3e8000003e800000
DATA upW<>+16(SB)/8, $0x3e8000003e800000
DATA upW<>+24(SB)/8, $0x3e8000003e800000
DATA upW<>+32(SB)/8, $0x3f4000003f400000
DATA upW<>+40(SB)/8, $0x3f4000003f400000
DATA upW<>+48(SB)/8, $0x3f4000003f400000
DATA upW<>+56(SB)/8, $0x3f4000003f400000
DATA upW<>+64(SB)/8, $0x3e0000003e000000
DATA upW<>+72(SB)/8, $0x3e0000003e000000
DATA upW<>+80(SB)/8, $0x3e0000003e000000
DATA upW<>+88(SB)/8, $0x3e0000003e000000
DATA upW<>+96(SB)/8, $0x3ec000003ec00000
DATA upW<>+104(SB)/8, $0x3ec000003ec00000
DATA upW<>+112(SB)/8, $0x3ec000003ec00000
DATA upW<>+120(SB)/8, $0x3ec000003ec00000
DATA upW<>+128(SB)/8, $0x3f2000003f200000
DATA upW<>+136(SB)/8, $0x3f2000003f200000
DATA upW<>+144(SB)/8, $0x3f2000003f200000
DATA upW<>+152(SB)/8, $0x3f2000003f200000
DATA upW<>+160(SB)/8, $0x3f6000003f600000
DATA upW<>+168(SB)/8, $0x3f6000003f600000
DATA upW<>+176(SB)/8, $0x3f6000003f600000
DATA upW<>+184(SB)/8, $0x3f6000003f600000
GLOBL upW<>(SB), RODATA|NOPTR, $192

// func lerpAVX2(dst, a, b *float32, n int, ay, sc float32)
TEXT ·lerpAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSS ay+32(FP), Y14
	VBROADCASTSS sc+36(FP), Y15
	SHRQ $3, CX
	JZ   ldone

lloop:
	VMOVUPS (SI), Y0
	VMOVUPS (DX), Y1
	VSUBPS Y0, Y1, Y1        // b - a
	VMULPS Y14, Y1, Y1       // ay*(b - a)
	VADDPS Y1, Y0, Y0        // a + ...
	VMULPS Y15, Y0, Y0       // sc*(...)
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	DECQ CX
	JNZ  lloop

ldone:
	VZEROUPPER
	RET

// func expand2AVX2(o, t *float32, n int)
TEXT ·expand2AVX2(SB), NOSPLIT, $0-24
	MOVQ o+0(FP), DI
	MOVQ t+8(FP), SI
	MOVQ n+16(FP), CX
	VMOVUPS upW<>+0(SB), Y14
	VMOVUPS upW<>+32(SB), Y15
	SHRQ $3, CX
	JZ   e2done

e2loop:
	VMOVUPS (SI), Y0         // t[j..j+8)
	VMOVUPS 4(SI), Y1        // t[j+1..j+9)
	VSUBPS Y0, Y1, Y1        // d
	VMULPS Y14, Y1, Y2
	VADDPS Y2, Y0, Y2        // L = t + 0.25 d
	VMULPS Y15, Y1, Y3
	VADDPS Y3, Y0, Y3        // H = t + 0.75 d
	VUNPCKLPS Y3, Y2, Y4     // L0 H0 L1 H1 | L4 H4 L5 H5
	VUNPCKHPS Y3, Y2, Y5     // L2 H2 L3 H3 | L6 H6 L7 H7
	VPERM2F128 $0x20, Y5, Y4, Y6
	VPERM2F128 $0x31, Y5, Y4, Y7
	VMOVUPS Y6, (DI)
	VMOVUPS Y7, 32(DI)
	ADDQ $32, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  e2loop

e2done:
	VZEROUPPER
	RET

// func expand4AVX2(o, t *float32, n int)
TEXT ·expand4AVX2(SB), NOSPLIT, $0-24
	MOVQ o+0(FP), DI
	MOVQ t+8(FP), SI
	MOVQ n+16(FP), CX
	VMOVUPS upW<>+64(SB), Y12
	VMOVUPS upW<>+96(SB), Y13
	VMOVUPS upW<>+128(SB), Y14
	VMOVUPS upW<>+160(SB), Y15
	SHRQ $3, CX
	JZ   e4done

e4loop:
	VMOVUPS (SI), Y0
	VMOVUPS 4(SI), Y1
	VSUBPS Y0, Y1, Y1        // d
	VMULPS Y12, Y1, Y2
	VADDPS Y2, Y0, Y2        // R0
	VMULPS Y13, Y1, Y3
	VADDPS Y3, Y0, Y3        // R1
	VMULPS Y14, Y1, Y4
	VADDPS Y4, Y0, Y4        // R2
	VMULPS Y15, Y1, Y5
	VADDPS Y5, Y0, Y5        // R3
	VUNPCKLPS Y3, Y2, Y6     // R0_0 R1_0 R0_1 R1_1 | 4, 5
	VUNPCKLPS Y5, Y4, Y7     // R2_0 R3_0 R2_1 R3_1 | 4, 5
	VUNPCKHPS Y3, Y2, Y8     // 2, 3 | 6, 7
	VUNPCKHPS Y5, Y4, Y9
	VSHUFPS $0x44, Y7, Y6, Y0  // j0 | j4
	VSHUFPS $0xee, Y7, Y6, Y1  // j1 | j5
	VSHUFPS $0x44, Y9, Y8, Y2  // j2 | j6
	VSHUFPS $0xee, Y9, Y8, Y3  // j3 | j7
	VPERM2F128 $0x20, Y1, Y0, Y4 // j0 j1
	VPERM2F128 $0x20, Y3, Y2, Y5 // j2 j3
	VPERM2F128 $0x31, Y1, Y0, Y6 // j4 j5
	VPERM2F128 $0x31, Y3, Y2, Y7 // j6 j7
	VMOVUPS Y4, (DI)
	VMOVUPS Y5, 32(DI)
	VMOVUPS Y6, 64(DI)
	VMOVUPS Y7, 96(DI)
	ADDQ $32, SI
	ADDQ $128, DI
	DECQ CX
	JNZ  e4loop

e4done:
	VZEROUPPER
	RET

DATA fifth<>+0(SB)/8, $0x3e4ccccd3e4ccccd
DATA fifth<>+8(SB)/8, $0x3e4ccccd3e4ccccd
DATA fifth<>+16(SB)/8, $0x3e4ccccd3e4ccccd
DATA fifth<>+24(SB)/8, $0x3e4ccccd3e4ccccd
GLOBL fifth<>(SB), RODATA|NOPTR, $32

// func box5AVX2(dst, a, b, c, d, e *float32, n int, mul bool)
//
// s = ((((a+b)+c)+d)+e)*0.2 for i < n (a multiple of 8); dst = s, or with
// mul dst *= s.
TEXT ·box5AVX2(SB), NOSPLIT, $0-57
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), R8
	MOVQ b+16(FP), R9
	MOVQ c+24(FP), R10
	MOVQ d+32(FP), R11
	MOVQ e+40(FP), R12
	MOVQ n+48(FP), CX
	MOVBLZX mul+56(FP), DX
	VMOVUPS fifth<>(SB), Y15
	XORQ AX, AX
	SHRQ $3, CX
	JZ   bdone

bloop:
	VMOVUPS (R8)(AX*1), Y0
	VADDPS (R9)(AX*1), Y0, Y0
	VADDPS (R10)(AX*1), Y0, Y0
	VADDPS (R11)(AX*1), Y0, Y0
	VADDPS (R12)(AX*1), Y0, Y0
	VMULPS Y15, Y0, Y0
	TESTQ DX, DX
	JZ   bstore
	VMULPS (DI)(AX*1), Y0, Y0
bstore:
	VMOVUPS Y0, (DI)(AX*1)
	ADDQ $32, AX
	DECQ CX
	JNZ  bloop

bdone:
	VZEROUPPER
	RET

// func blendAVX2(o, wp, cf, st *float32, n int, a, lam float32, grad bool)
//
// For i < n (a multiple of 8): k = a*cf[i]; with grad, st[i] = o[i] and
// k = 1 where lam*cf[i] > 1e4 (gsFrozen); o[i] += k*(wp[i]-o[i]).
TEXT ·blendAVX2(SB), NOSPLIT, $0-49
	MOVQ o+0(FP), DI
	MOVQ wp+8(FP), SI
	MOVQ cf+16(FP), DX
	MOVQ st+24(FP), R8
	MOVQ n+32(FP), CX
	VBROADCASTSS a+40(FP), Y13
	VBROADCASTSS lam+44(FP), Y14
	MOVBLZX grad+48(FP), R9
	BCAST($0x461c4000, Y12) // 1e4
	BCAST($0x3f800000, Y11) // 1
	XORQ AX, AX
	SHRQ $3, CX
	JZ   bldone

blloop:
	VMOVUPS (DI)(AX*1), Y0   // o
	VMOVUPS (DX)(AX*1), Y2   // cf
	VMULPS Y13, Y2, Y3       // k = a*cf
	TESTQ R9, R9
	JZ   blmix
	VMOVUPS Y0, (R8)(AX*1)   // st = o
	VMULPS Y14, Y2, Y4       // lam*cf
	VCMPPS $0x1e, Y12, Y4, Y4 // > 1e4 (GT_OQ)
	VBLENDVPS Y4, Y11, Y3, Y3 // pinned: k = 1
blmix:
	VMOVUPS (SI)(AX*1), Y1   // wp
	VSUBPS Y0, Y1, Y1        // wp - o
	VMULPS Y3, Y1, Y1        // k*(wp - o)
	VADDPS Y1, Y0, Y0        // o + ...
	VMOVUPS Y0, (DI)(AX*1)
	ADDQ $32, AX
	DECQ CX
	JNZ  blloop

bldone:
	VZEROUPPER
	RET

// GSCH updates the even lanes of one channel's group: planes at R11
// (output), R12 (stylized), R13 (warped); l in Y7, inv in Y6, 4 in Y12;
// the left neighbours are the group rotated up a lane with lane 0 from
// PREV (the previous group as loaded, rotated), which then takes it: a
// load at x-1 would overlap the previous group's store and stall its
// forwarding. Moves R11..R13 to the next plane. Clobbers Y0..Y4.
#define GSCH(PREV) \
	VMOVUPS (R11)(BX*1), Y0 \
	VPERMPS Y0, Y13, Y1 \
	VBLENDPS $1, PREV, Y1, Y2 \
	VMOVAPS Y1, PREV \
	VMULPS (R13)(BX*1), Y7, Y3 \
	VMULPS (R12)(BX*1), Y12, Y4 \
	VADDPS Y4, Y3, Y3 \
	VADDPS Y2, Y3, Y3 \
	VADDPS 4(R11)(BX*1), Y3, Y3 \
	VADDPS (R11)(AX*1), Y3, Y3 \
	VADDPS (R11)(R10*1), Y3, Y3 \
	VSUBPS -4(R12)(BX*1), Y3, Y3 \
	VSUBPS 4(R12)(BX*1), Y3, Y3 \
	VSUBPS (R12)(AX*1), Y3, Y3 \
	VSUBPS (R12)(R10*1), Y3, Y3 \
	VMULPS Y6, Y3, Y3 \
	VMASKMOVPS Y3, Y15, (R11)(BX*1) \
	ADDQ R9, R11 \
	ADDQ R9, R12 \
	ADDQ R9, R13

// func gsAVX2(o, st, wp, cf *float32, plane, pitch, groups int, lam float32)
//
// gsList's interior update, (((((((((l*wp + 4*st) + oL) + oR) + oU) + oD)
// - sL) - sR) - sU) - sD) * (1/(l + 4)) with l = lam*cf, for the pixels
// at even offsets of groups groups of eight from o (the first plane's output;
// st, wp, cf likewise), each group's three planes plane bytes apart, rows
// pitch bytes apart. Only those pixels are stored (masked), so the odd
// ones, which the other colour's half-sweep owns, are never written.
TEXT ·gsAVX2(SB), NOSPLIT, $0-60
	MOVQ cf+24(FP), R8
	MOVQ plane+32(FP), R9
	MOVQ pitch+40(FP), R10   // down index
	MOVQ groups+48(FP), CX
	VBROADCASTSS lam+56(FP), Y14
	VMOVUPS ·rotUp(SB), Y13 // varref_amd64.s
	VPCMPEQD Y15, Y15, Y15
	VPXOR Y0, Y0, Y0
	VPBLENDD $0x55, Y15, Y0, Y15 // even lanes
	BCAST($0x40800000, Y12) // 4
	BCAST($0x3f800000, Y11) // 1
	XORQ BX, BX
	MOVQ BX, AX
	SUBQ R10, AX             // up index
	MOVQ o+0(FP), R11
	VBROADCASTSS -4(R11), Y10 // lane 0: the left neighbour of the first group
	ADDQ R9, R11
	VBROADCASTSS -4(R11), Y9
	ADDQ R9, R11
	VBROADCASTSS -4(R11), Y8
	TESTQ CX, CX
	JZ   gdone

gloop:
	VMULPS (R8)(BX*1), Y14, Y7 // l = lam*cf
	VADDPS Y12, Y7, Y6
	VDIVPS Y6, Y11, Y6       // inv = 1/(l + 4)
	MOVQ o+0(FP), R11
	MOVQ st+8(FP), R12
	MOVQ wp+16(FP), R13
	GSCH(Y10)
	GSCH(Y9)
	GSCH(Y8)
	ADDQ $32, BX
	ADDQ $32, AX
	ADDQ $32, R10
	DECQ CX
	JNZ  gloop

gdone:
	VZEROUPPER
	RET
