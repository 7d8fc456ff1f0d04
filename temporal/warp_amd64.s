#include "textflag.h"

// Constant vectors (8 x float32 or int32) for warp3AVX2.
DATA warpLanes<>+0(SB)/4, $0
DATA warpLanes<>+4(SB)/4, $1
DATA warpLanes<>+8(SB)/4, $2
DATA warpLanes<>+12(SB)/4, $3
DATA warpLanes<>+16(SB)/4, $4
DATA warpLanes<>+20(SB)/4, $5
DATA warpLanes<>+24(SB)/4, $6
DATA warpLanes<>+28(SB)/4, $7
GLOBL warpLanes<>(SB), RODATA|NOPTR, $32

// warpHalf: 0.5; warpEight: 8.0; warpOne: 1.0 (float32 bits).
DATA warpHalf<>+0(SB)/8, $0x3f0000003f000000
DATA warpHalf<>+8(SB)/8, $0x3f0000003f000000
DATA warpHalf<>+16(SB)/8, $0x3f0000003f000000
DATA warpHalf<>+24(SB)/8, $0x3f0000003f000000
GLOBL warpHalf<>(SB), RODATA|NOPTR, $32

DATA warpThree<>+0(SB)/8, $0x4040000040400000
DATA warpThree<>+8(SB)/8, $0x4040000040400000
DATA warpThree<>+16(SB)/8, $0x4040000040400000
DATA warpThree<>+24(SB)/8, $0x4040000040400000
GLOBL warpThree<>(SB), RODATA|NOPTR, $32

DATA warpEight<>+0(SB)/8, $0x4100000041000000
DATA warpEight<>+8(SB)/8, $0x4100000041000000
DATA warpEight<>+16(SB)/8, $0x4100000041000000
DATA warpEight<>+24(SB)/8, $0x4100000041000000
GLOBL warpEight<>(SB), RODATA|NOPTR, $32

// CUBIC computes the Catmull-Rom weights of the fractions in T into W0..W3
// (clobbers T2, T3):
//   w3 = (t^3 - t^2)/2, w0 = (t^2 - t)/2 - w3, w2 = (t + t^2)/2 - 3*w3,
//   w1 = 1 - w0 - w2 - w3,
// which are cubicWeights' polynomials; exactly (0, 1, 0, 0) at t = 0.
#define CUBIC(T, T2, T3, W0, W1, W2, W3) \
	VMULPS T, T, T2 \
	VMULPS T2, T, T3 \
	VSUBPS T2, T3, W3 \
	VMULPS warpHalf<>(SB), W3, W3 \
	VSUBPS T, T2, W0 \
	VMULPS warpHalf<>(SB), W0, W0 \
	VSUBPS W3, W0, W0 \
	VADDPS T, T2, W2 \
	VMULPS warpHalf<>(SB), W2, W2 \
	VFNMADD231PS warpThree<>(SB), W3, W2 \
	VADDPS W0, W2, W1 \
	VADDPS W3, W1, W1 \
	VSUBPS W1, Y15, W1

// PIXEL samples lane I of the group: offset at 4*I(SP), its four x weights
// at WX(SP) (transposed), its y weights at 160+4*I(SP) + 32*j, and stores
// the three channels at 4*I(DI) in planes R8 bytes apart.
#define PIXEL(I, WX) \
	MOVLQSX (4*I)(SP), R10 \
	VMOVUPS WX(SP), X1 \
	VBROADCASTSS (160+4*I)(SP), X2 \
	VMULPS X1, X2, X2 \
	VBROADCASTSS (192+4*I)(SP), X3 \
	VMULPS X1, X3, X3 \
	VBROADCASTSS (224+4*I)(SP), X4 \
	VMULPS X1, X4, X4 \
	VBROADCASTSS (256+4*I)(SP), X5 \
	VMULPS X1, X5, X5 \
	LEAQ (SI)(R10*4), BX \
	VMULPS (BX), X2, X6 \
	VFMADD231PS (BX)(DX*1), X3, X6 \
	VFMADD231PS (BX)(DX*2), X4, X6 \
	VFMADD231PS (BX)(R12*1), X5, X6 \
	ADDQ R8, BX \
	VMULPS (BX), X2, X7 \
	VFMADD231PS (BX)(DX*1), X3, X7 \
	VFMADD231PS (BX)(DX*2), X4, X7 \
	VFMADD231PS (BX)(R12*1), X5, X7 \
	ADDQ R8, BX \
	VMULPS (BX), X2, X8 \
	VFMADD231PS (BX)(DX*1), X3, X8 \
	VFMADD231PS (BX)(DX*2), X4, X8 \
	VFMADD231PS (BX)(R12*1), X5, X8 \
	VHADDPS X7, X6, X6 \
	VHADDPS X8, X8, X8 \
	VHADDPS X8, X6, X6 \
	VMOVSS X6, (4*I)(DI) \
	VEXTRACTPS $1, X6, (4*I)(DI)(R8*1) \
	VEXTRACTPS $2, X6, (4*I)(DI)(R8*2)

// func warp3AVX2(dst, src *float32, n, w, h, y int, u, v *float32, x0, x1 int) int
//
// Stack: 0-31 the group's 8 tap offsets (int32), 32-159 the x weights
// transposed (lane i at 32+32*(i%4)+16*(i/4)), 160-287 the y weights
// (weight j of lane i at 160+32*j+4*i).
TEXT ·warp3AVX2(SB), NOSPLIT, $288-88
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), R8
	SHLQ $2, R8              // plane bytes
	MOVQ w+24(FP), DX
	MOVQ h+32(FP), R9
	MOVQ u+48(FP), AX
	MOVQ v+56(FP), CX
	MOVQ x0+64(FP), R13
	MOVQ x1+72(FP), R11

	// Y15 = 1, Y14 = w-3, Y13 = h-3, Y12 = y (floats); Y11 = w, Y10 = w+1
	// (int32); Y0 = x0 + lane (floats).
	MOVL $0x3f800000, BX
	VMOVD BX, X15
	VBROADCASTSS X15, Y15
	LEAQ -3(DX), BX
	VCVTSI2SSQ BX, X14, X14
	VBROADCASTSS X14, Y14
	LEAQ -3(R9), BX
	VCVTSI2SSQ BX, X13, X13
	VBROADCASTSS X13, Y13
	MOVQ y+40(FP), BX
	VCVTSI2SSQ BX, X12, X12
	VBROADCASTSS X12, Y12
	VMOVD DX, X11
	VPBROADCASTD X11, Y11
	LEAQ 1(DX), BX
	VMOVD BX, X10
	VPBROADCASTD X10, Y10
	VCVTSI2SSQ R13, X0, X0
	VBROADCASTSS X0, Y0
	VCVTDQ2PS warpLanes<>(SB), Y1
	VADDPS Y1, Y0, Y0

	SHLQ $2, DX              // row bytes
	LEAQ (DX)(DX*2), R12     // three rows
	LEAQ (DI)(R13*4), DI
	LEAQ (AX)(R13*4), AX
	LEAQ (CX)(R13*4), CX

loop:
	LEAQ 8(R13), BX
	CMPQ BX, R11
	JGT  done

	// sx, sy and their floors; stop unless all 8 are interior
	// (1 <= floor <= size-3, so all 16 taps are inside).
	VADDPS (AX), Y0, Y1      // sx
	VADDPS (CX), Y12, Y2     // sy
	VROUNDPS $1, Y1, Y3      // fx
	VROUNDPS $1, Y2, Y4      // fy
	VCMPPS $0x1d, Y15, Y3, Y5    // fx >= 1
	VCMPPS $0x12, Y14, Y3, Y6    // fx <= w-3
	VANDPS Y6, Y5, Y5
	VCMPPS $0x1d, Y15, Y4, Y6    // fy >= 1
	VANDPS Y6, Y5, Y5
	VCMPPS $0x12, Y13, Y4, Y6    // fy <= h-3
	VANDPS Y6, Y5, Y5
	VMOVMSKPS Y5, BX
	CMPL BX, $0xff
	JNE  done

	// Tap offsets: (fy-1)*w + fx-1 = fy*w + fx - (w+1).
	VCVTTPS2DQ Y3, Y5
	VCVTTPS2DQ Y4, Y6
	VPMULLD Y11, Y6, Y6
	VPADDD Y5, Y6, Y6
	VPSUBD Y10, Y6, Y6
	VMOVDQU Y6, 0(SP)

	// y weights, stored as they are.
	VSUBPS Y4, Y2, Y2        // ty
	CUBIC(Y2, Y5, Y6, Y7, Y8, Y9, Y3)
	VMOVUPS Y7, 160(SP)
	VMOVUPS Y8, 192(SP)
	VMOVUPS Y9, 224(SP)
	VMOVUPS Y3, 256(SP)

	// x weights, transposed so each lane's four are contiguous.
	VROUNDPS $1, Y1, Y3
	VSUBPS Y3, Y1, Y1        // tx
	CUBIC(Y1, Y5, Y6, Y7, Y8, Y9, Y4)
	VUNPCKLPS Y8, Y7, Y2     // w0,w1 of lanes 0,1 | 4,5
	VUNPCKHPS Y8, Y7, Y3     // w0,w1 of lanes 2,3 | 6,7
	VUNPCKLPS Y4, Y9, Y5     // w2,w3 of lanes 0,1 | 4,5
	VUNPCKHPS Y4, Y9, Y6     // w2,w3 of lanes 2,3 | 6,7
	VSHUFPS $0x44, Y5, Y2, Y7
	VSHUFPS $0xee, Y5, Y2, Y8
	VSHUFPS $0x44, Y6, Y3, Y9
	VSHUFPS $0xee, Y6, Y3, Y4
	VMOVUPS Y7, 32(SP)       // lanes 0 | 4
	VMOVUPS Y8, 64(SP)       // lanes 1 | 5
	VMOVUPS Y9, 96(SP)       // lanes 2 | 6
	VMOVUPS Y4, 128(SP)      // lanes 3 | 7

	PIXEL(0, 32)
	PIXEL(1, 64)
	PIXEL(2, 96)
	PIXEL(3, 128)
	PIXEL(4, 48)
	PIXEL(5, 80)
	PIXEL(6, 112)
	PIXEL(7, 144)

	VADDPS warpEight<>(SB), Y0, Y0
	ADDQ $8, R13
	ADDQ $32, DI
	ADDQ $32, AX
	ADDQ $32, CX
	JMP  loop

done:
	VZEROUPPER
	MOVQ R13, ret+80(FP)
	RET
