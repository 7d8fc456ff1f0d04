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

// BCASTF stores the float32 in X0 broadcast to 8 lanes at off(SP).
#define BCASTF(off) VBROADCASTSS X0, Y0; VMOVUPS Y0, off(SP)

// BCASTK stores the float32 with bits imm broadcast to 8 lanes at off(SP).
#define BCASTK(imm, off) MOVL imm, AX; VMOVD AX, X0; BCASTF(off)

// BCASTI stores the int32 in AX broadcast to 8 lanes at off(SP).
#define BCASTI(off) VMOVD AX, X0; VPBROADCASTD X0, Y0; VMOVUPS Y0, off(SP)

// GATHER loads the plane at BASE at the eight indices stored at off(SP)
// into D (clobbers Y7, Y8).
#define GATHER(BASE, off, D) \
	VMOVDQU off(SP), Y7 \
	VPCMPEQD Y8, Y8, Y8 \
	VGATHERDPS Y8, (BASE)(Y7*4), D

// BILINEAR sets D to bilinear2's value of the plane at BASE: taps at the
// indices stored at 448..544(SP), weights ax in Y5 and ay in Y6, as
// top + ay*(bottom - top), top = a00 + ax*(a01 - a00) (clobbers Y7, Y8,
// Y10, Y11).
#define BILINEAR(BASE, D) \
	GATHER(BASE, 448, D) \
	GATHER(BASE, 480, Y10) \
	VSUBPS D, Y10, Y10 \
	VMULPS Y10, Y5, Y10 \
	VADDPS Y10, D, D \
	GATHER(BASE, 512, Y10) \
	GATHER(BASE, 544, Y11) \
	VSUBPS Y10, Y11, Y11 \
	VMULPS Y11, Y5, Y11 \
	VADDPS Y11, Y10, Y10 \
	VSUBPS D, Y10, Y10 \
	VMULPS Y10, Y6, Y10 \
	VADDPS Y10, D, D

// func hardMaskAVX2(a *hardMaskArgs) int
//
// hardMaskArgs: m 0, bu 8, bv 16, buU 24, buD 32, bvU 40, bvD 48, fu 56,
// fv 64, w 72, h 80, x 88, n 96, y 104, scy 108. Locals (8 lanes each):
// 0 w-0.5, 32 h-0.5, 64 -0.5, 96 w-1, 128 h-1 (floats), 160 w, 192 w-1,
// 224 h-1 (int32), 256 0.01 (occRel = mbRel), 288 0.5 (occAbs, and the
// central difference scale), 320 0.002 (mbAbs), 352 scy, 384 1, 416 8;
// 448, 480, 512, 544: the bilinear taps' indices.
TEXT ·hardMaskAVX2(SB), $576-16
	MOVQ a+0(FP), DI
	MOVQ 72(DI), AX          // w
	BCASTI(160)
	DECQ AX
	BCASTI(192)
	VCVTSI2SSQ AX, X0, X0
	BCASTF(96)
	MOVQ 72(DI), AX
	VCVTSI2SSQ AX, X0, X0
	MOVL $0x3f000000, AX     // 0.5
	VMOVD AX, X1
	VSUBSS X1, X0, X0
	BCASTF(0)
	VMOVAPS X1, X0
	BCASTF(288)
	BCASTK($0xbf000000, 64) // -0.5
	MOVQ 80(DI), AX          // h
	VCVTSI2SSQ AX, X0, X0
	VSUBSS X1, X0, X0
	BCASTF(32)
	DECQ AX
	BCASTI(224)
	VCVTSI2SSQ AX, X0, X0
	BCASTF(128)
	BCASTK($0x3c23d70a, 256) // 0.01
	BCASTK($0x3b03126f, 320) // 0.002
	VMOVSS 108(DI), X0       // scy
	BCASTF(352)
	BCASTK($0x3f800000, 384) // 1
	BCASTK($0x41000000, 416) // 8
	VBROADCASTSS 104(DI), Y14 // y
	MOVQ 88(DI), AX          // x
	VCVTSI2SSQ AX, X0, X0
	VBROADCASTSS X0, Y15
	VCVTDQ2PS warpLanes<>(SB), Y0
	VADDPS Y0, Y15, Y15      // x + lane
	VXORPS Y13, Y13, Y13     // 0

	MOVQ 0(DI), R8
	MOVQ 8(DI), R9
	MOVQ 16(DI), R10
	MOVQ 24(DI), R11
	MOVQ 32(DI), R12
	MOVQ 40(DI), R13
	MOVQ 48(DI), R14
	MOVQ 56(DI), SI
	MOVQ 64(DI), DX
	MOVQ 96(DI), CX
	XORQ AX, AX              // occluded count
	XORQ BX, BX
	SHRQ $3, CX
	JZ   hmdone

hmloop:
	VMOVUPS (R9)(BX*1), Y0   // u
	VMOVUPS (R10)(BX*1), Y1  // v
	VADDPS Y0, Y15, Y2       // sx
	VADDPS Y1, Y14, Y3       // sy
	VCMPPS $1, 64(SP), Y2, Y4  // sx < -0.5 (LT_OS)
	VCMPPS $1, 64(SP), Y3, Y5
	VORPS Y5, Y4, Y4
	VCMPPS $0x1e, 0(SP), Y2, Y5 // sx > w-0.5 (GT_OQ)
	VORPS Y5, Y4, Y4
	VCMPPS $0x1e, 32(SP), Y3, Y5
	VORPS Y5, Y4, Y4         // out of the frame

	// bilinear2 of the forward flow at (sx, sy), clamped to the image
	VMAXPS Y13, Y2, Y5
	VMINPS 96(SP), Y5, Y5    // x
	VMAXPS Y13, Y3, Y6
	VMINPS 128(SP), Y6, Y6   // y
	VCVTTPS2DQ Y5, Y7        // x0
	VCVTDQ2PS Y7, Y8
	VSUBPS Y8, Y5, Y5        // ax
	VCVTTPS2DQ Y6, Y8        // y0
	VCVTDQ2PS Y8, Y9
	VSUBPS Y9, Y6, Y6        // ay
	VPCMPEQD Y9, Y9, Y9      // -1
	VPSUBD Y9, Y7, Y10
	VPMINSD 192(SP), Y10, Y10 // x1
	VPSUBD Y9, Y8, Y11
	VPMINSD 224(SP), Y11, Y11 // y1
	VPMULLD 160(SP), Y8, Y8  // y0*w
	VPMULLD 160(SP), Y11, Y11 // y1*w
	VPADDD Y7, Y8, Y2
	VMOVDQU Y2, 448(SP)      // p00
	VPADDD Y10, Y8, Y2
	VMOVDQU Y2, 480(SP)      // p01
	VPADDD Y7, Y11, Y2
	VMOVDQU Y2, 512(SP)      // p10
	VPADDD Y10, Y11, Y2
	VMOVDQU Y2, 544(SP)      // p11

	BILINEAR(SI, Y9)         // u2
	BILINEAR(DX, Y2)         // v2

	// occluded: |(u+u2, v+v2)|^2 > 0.01*(((u*u+v*v)+u2*u2)+v2*v2) + 0.5
	VADDPS Y9, Y0, Y3
	VADDPS Y2, Y1, Y5
	VMULPS Y3, Y3, Y3
	VMULPS Y5, Y5, Y5
	VADDPS Y5, Y3, Y3
	VMULPS Y0, Y0, Y6
	VMULPS Y1, Y1, Y7
	VADDPS Y7, Y6, Y6
	VMOVAPS Y6, Y8           // u*u+v*v
	VMULPS Y9, Y9, Y9
	VADDPS Y9, Y6, Y6
	VMULPS Y2, Y2, Y2
	VADDPS Y2, Y6, Y6
	VMULPS 256(SP), Y6, Y6
	VADDPS 288(SP), Y6, Y6
	VCMPPS $0x1e, Y6, Y3, Y3 // occluded

	// motion boundary: ((ux*ux + uy*uy) + vx*vx) + vy*vy > 0.01*(u*u+v*v) + 0.002
	VMOVUPS 4(R9)(BX*1), Y5
	VSUBPS -4(R9)(BX*1), Y5, Y5
	VMULPS 288(SP), Y5, Y5   // ux
	VMOVUPS 4(R10)(BX*1), Y6
	VSUBPS -4(R10)(BX*1), Y6, Y6
	VMULPS 288(SP), Y6, Y6   // vx
	VMOVUPS (R12)(BX*1), Y7
	VSUBPS (R11)(BX*1), Y7, Y7
	VMULPS 352(SP), Y7, Y7   // uy
	VMOVUPS (R14)(BX*1), Y9
	VSUBPS (R13)(BX*1), Y9, Y9
	VMULPS 352(SP), Y9, Y9   // vy
	VMULPS Y5, Y5, Y5
	VMULPS Y7, Y7, Y7
	VADDPS Y7, Y5, Y5
	VMULPS Y6, Y6, Y6
	VADDPS Y6, Y5, Y5
	VMULPS Y9, Y9, Y9
	VADDPS Y9, Y5, Y5
	VMULPS 256(SP), Y8, Y8
	VADDPS 320(SP), Y8, Y8
	VCMPPS $0x1e, Y8, Y5, Y5 // motion boundary

	VORPS Y4, Y5, Y5
	VORPS Y3, Y5, Y5
	VANDNPS 384(SP), Y5, Y6  // 1 where none failed
	VMOVUPS Y6, (R8)(BX*1)
	VANDNPS Y3, Y4, Y7       // in the frame and occluded
	VMOVMSKPS Y7, DI
	POPCNTL DI, DI
	ADDQ DI, AX

	VADDPS 416(SP), Y15, Y15
	ADDQ $32, BX
	DECQ CX
	JNZ  hmloop

hmdone:
	MOVQ AX, ret+8(FP)
	VZEROUPPER
	RET
