#include "textflag.h"
#include "simd_amd64.h"

// Row kernels of the variational refinement (varref.go): the data term
// (vrDataAVX2), the smoothness weights (vrSmoothAVX2), the right-hand side
// (vrRHSAVX2) and the red-black SOR half-sweep (vrSORAVX2), eight pixels at
// a time. Each repeats its Go loop's operations in the same order (no fused
// multiply-add; 1/sqrt as a correctly rounded square root and a division,
// which is what the Go code's float64 square root rounds to), so results
// are identical.

// Lanes a half-sweep updates: even x (first 32 bytes) or odd x.
DATA sorMask<>+0(SB)/8, $0x00000000ffffffff
DATA sorMask<>+8(SB)/8, $0x00000000ffffffff
DATA sorMask<>+16(SB)/8, $0x00000000ffffffff
DATA sorMask<>+24(SB)/8, $0x00000000ffffffff
DATA sorMask<>+32(SB)/8, $0xffffffff00000000
DATA sorMask<>+40(SB)/8, $0xffffffff00000000
DATA sorMask<>+48(SB)/8, $0xffffffff00000000
DATA sorMask<>+56(SB)/8, $0xffffffff00000000
GLOBL sorMask<>(SB), RODATA|NOPTR, $64

// VPERMPS indices that rotate eight lanes up by one: lane i gets lane i-1,
// lane 0 gets lane 7 (gsAVX2 in rows_amd64.s uses them too).
DATA ·rotUp+0(SB)/8, $0x0000000000000007
DATA ·rotUp+8(SB)/8, $0x0000000200000001
DATA ·rotUp+16(SB)/8, $0x0000000400000003
DATA ·rotUp+24(SB)/8, $0x0000000600000005
GLOBL ·rotUp(SB), RODATA|NOPTR, $32

// WGTERM sets Y5 = wg*(A*B + C*D), wg in Y2 (clobbers Y6).
#define WGTERM(A, B, C, D) \
	VMULPS A, B, Y5 \
	VMULPS C, D, Y6 \
	VADDPS Y6, Y5, Y5 \
	VMULPS Y5, Y2, Y5

// ADDTO adds Y5 to the output plane whose pointer is at off(DI);
// SUBFROM subtracts it (clobbers AX, Y6).
#define ADDTO(off) \
	MOVQ off(DI), AX \
	VADDPS (AX)(BX*1), Y5, Y5 \
	VMOVUPS Y5, (AX)(BX*1)

#define SUBFROM(off) \
	MOVQ off(DI), AX \
	VMOVUPS (AX)(BX*1), Y6 \
	VSUBPS Y5, Y6, Y6 \
	VMOVUPS Y6, (AX)(BX*1)

// func vrDataAVX2(a *vrDataArgs)
//
// vrDataArgs: a11 0, a12 8, a22 16, b1 24, b2 32, du 40, dv 48, nx 56,
// ny 64, nz 72, gxx 80, gxy 88, gxz 96, gyx 104, gyy 112, gyz 120, n 128,
// d2 136, g2 140.
TEXT ·vrDataAVX2(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), DI
	BCAST($0x358637bd, Y15)  // vrEps2
	BCAST($0x3c23d70a, Y14)  // vrZeta2
	BCAST($0x3f800000, Y11)  // 1
	BCAST($0x80000000, Y10)  // sign bit
	VBROADCASTSS 136(DI), Y13 // d2
	VBROADCASTSS 140(DI), Y12 // g2
	MOVQ 40(DI), SI  // du
	MOVQ 48(DI), DX  // dv
	MOVQ 56(DI), R8  // nx
	MOVQ 64(DI), R9  // ny
	MOVQ 72(DI), R10 // nz
	MOVQ 80(DI), R11 // gxx
	MOVQ 88(DI), R12 // gxy
	MOVQ 96(DI), R13 // gxz
	MOVQ 104(DI), R14 // gyx
	MOVQ 128(DI), CX
	XORQ BX, BX
	SHRQ $3, CX
	JZ   ddone

dloop:
	// colour constancy
	VMOVUPS (SI)(BX*1), Y0   // eu
	VMOVUPS (DX)(BX*1), Y1   // ev
	VMOVUPS (R8)(BX*1), Y3   // sx
	VMOVUPS (R9)(BX*1), Y4   // sy
	VMULPS Y0, Y3, Y2        // sx*eu
	VADDPS (R10)(BX*1), Y2, Y2 // sz + sx*eu
	VMULPS Y1, Y4, Y5        // sy*ev
	VADDPS Y5, Y2, Y2        // ik
	VMULPS Y2, Y2, Y2
	VADDPS Y15, Y2, Y2
	VSQRTPS Y2, Y2
	VDIVPS Y2, Y11, Y2
	VMULPS Y2, Y13, Y2       // wd
	VMULPS Y3, Y2, Y5        // wd*sx
	VMULPS Y3, Y5, Y6
	VADDPS Y14, Y6, Y6       // c11
	VMULPS Y4, Y5, Y5        // c12
	VMULPS Y4, Y2, Y7
	VMULPS Y4, Y7, Y7
	VADDPS Y14, Y7, Y7       // c22
	VXORPS Y10, Y2, Y2       // -wd
	VMULPS (R10)(BX*1), Y2, Y2 // -wd*sz
	VMULPS Y3, Y2, Y8        // c1
	VMULPS Y4, Y2, Y9        // c2
	MOVQ 0(DI), AX
	VMOVUPS Y6, (AX)(BX*1)
	MOVQ 8(DI), AX
	VMOVUPS Y5, (AX)(BX*1)
	MOVQ 16(DI), AX
	VMOVUPS Y7, (AX)(BX*1)
	MOVQ 24(DI), AX
	VMOVUPS Y8, (AX)(BX*1)
	MOVQ 32(DI), AX
	VMOVUPS Y9, (AX)(BX*1)

	// gradient constancy: kx = (pz + p*eu) + q2*ev, ky = (tz + s*eu) + t*ev
	VMULPS (R11)(BX*1), Y0, Y2
	VADDPS (R13)(BX*1), Y2, Y2
	VMULPS (R12)(BX*1), Y1, Y3
	VADDPS Y3, Y2, Y2        // kx
	MOVQ 120(DI), AX         // gyz
	VMULPS (R14)(BX*1), Y0, Y3
	VADDPS (AX)(BX*1), Y3, Y3
	VMOVUPS (AX)(BX*1), Y8   // tz
	MOVQ 112(DI), AX         // gyy
	VMOVUPS (AX)(BX*1), Y4   // t
	VMULPS Y4, Y1, Y5
	VADDPS Y5, Y3, Y3        // ky
	VMULPS Y2, Y2, Y2
	VMULPS Y3, Y3, Y3
	VADDPS Y3, Y2, Y2
	VADDPS Y15, Y2, Y2
	VSQRTPS Y2, Y2
	VDIVPS Y2, Y11, Y2
	VMULPS Y2, Y12, Y2       // wg
	VMOVUPS (R11)(BX*1), Y0  // p
	VMOVUPS (R14)(BX*1), Y1  // s
	VMOVUPS (R12)(BX*1), Y3  // q2
	VMOVUPS (R13)(BX*1), Y7  // pz

	WGTERM(Y0, Y0, Y1, Y1)   // a11 = c11 + wg*(p*p + s*s)
	ADDTO(0)
	WGTERM(Y3, Y0, Y4, Y1)   // a12 = c12 + wg*(p*q2 + s*t)
	ADDTO(8)
	WGTERM(Y3, Y3, Y4, Y4)   // a22 = c22 + wg*(q2*q2 + t*t)
	ADDTO(16)
	WGTERM(Y7, Y0, Y8, Y1)   // b1 = c1 - wg*(p*pz + s*tz)
	SUBFROM(24)
	WGTERM(Y7, Y3, Y8, Y4)   // b2 = c2 - wg*(q2*pz + t*tz)
	SUBFROM(32)

	ADDQ $32, BX
	DECQ CX
	JNZ  dloop

ddone:
	VZEROUPPER
	RET

// func vrSmoothAVX2(wx, wy, fu, fv, du, dv *float32, down, n int, a2 float32)
//
// With cu = fu+du, cv = fv+dv: ux, vx the differences to the right
// neighbour's, uy, vy to the pixel down bytes further; wx = wy =
// a2/sqrt(ux*ux+vx*vx+uy*uy+vy*vy+vrEps2), for n pixels (a multiple of 8).
TEXT ·vrSmoothAVX2(SB), NOSPLIT, $0-68
	MOVQ wx+0(FP), R8
	MOVQ wy+8(FP), R9
	MOVQ fu+16(FP), R10
	MOVQ fv+24(FP), R11
	MOVQ du+32(FP), R12
	MOVQ dv+40(FP), R13
	MOVQ down+48(FP), SI
	MOVQ n+56(FP), CX
	BCAST($0x358637bd, Y15)  // vrEps2
	BCAST($0x3f800000, Y14)  // 1
	VBROADCASTSS a2+64(FP), Y13
	XORQ BX, BX
	SHRQ $3, CX
	JZ   sdone

sloop:
	VMOVUPS (R10)(BX*1), Y0
	VADDPS (R12)(BX*1), Y0, Y0   // cu
	VMOVUPS (R11)(BX*1), Y1
	VADDPS (R13)(BX*1), Y1, Y1   // cv
	VMOVUPS 4(R10)(BX*1), Y2
	VADDPS 4(R12)(BX*1), Y2, Y2
	VSUBPS Y0, Y2, Y2            // ux
	VMOVUPS 4(R11)(BX*1), Y3
	VADDPS 4(R13)(BX*1), Y3, Y3
	VSUBPS Y1, Y3, Y3            // vx
	VMOVUPS (R10)(SI*1), Y4
	VADDPS (R12)(SI*1), Y4, Y4
	VSUBPS Y0, Y4, Y4            // uy
	VMOVUPS (R11)(SI*1), Y5
	VADDPS (R13)(SI*1), Y5, Y5
	VSUBPS Y1, Y5, Y5            // vy
	VMULPS Y2, Y2, Y2
	VMULPS Y3, Y3, Y3
	VADDPS Y3, Y2, Y2
	VMULPS Y4, Y4, Y4
	VADDPS Y4, Y2, Y2
	VMULPS Y5, Y5, Y5
	VADDPS Y5, Y2, Y2
	VADDPS Y15, Y2, Y2
	VSQRTPS Y2, Y2
	VDIVPS Y2, Y14, Y2
	VMULPS Y2, Y13, Y2           // ws
	VMOVUPS Y2, (R8)(BX*1)
	VMOVUPS Y2, (R9)(BX*1)
	ADDQ $32, BX
	ADDQ $32, SI
	DECQ CX
	JNZ  sloop

sdone:
	VZEROUPPER
	RET

// WEIGHTS loads a group's smoothness weights into Y0..Y3: wl (the left
// pixel's wx), wr (wx), wu (the upper pixel's wy, row index UP) and wd
// (wy), from the planes WX and WY.
#define WEIGHTS(WX, WY, UP) \
	VMOVUPS -4(WX)(BX*1), Y0 \
	VMOVUPS (WX)(BX*1), Y1 \
	VMOVUPS (WY)(UP*1), Y2 \
	VMOVUPS (WY)(BX*1), Y3

// RHSTERM adds wr*(fR-f) - wl*(f-fL) + wd*(fD-f) - wu*(f-fU) of the flow
// plane F to the plane B (weights wl, wr, wu, wd in Y0..Y3; the rows above
// and below at SI, DI; clobbers Y4..Y6).
#define RHSTERM(F, B) \
	VMOVUPS (F)(BX*1), Y4 \
	VMOVUPS 4(F)(BX*1), Y5 \
	VSUBPS Y4, Y5, Y5 \
	VMULPS Y5, Y1, Y5 \
	VSUBPS -4(F)(BX*1), Y4, Y6 \
	VMULPS Y6, Y0, Y6 \
	VSUBPS Y6, Y5, Y5 \
	VMOVUPS (F)(DI*1), Y6 \
	VSUBPS Y4, Y6, Y6 \
	VMULPS Y6, Y3, Y6 \
	VADDPS Y6, Y5, Y5 \
	VSUBPS (F)(SI*1), Y4, Y6 \
	VMULPS Y6, Y2, Y6 \
	VSUBPS Y6, Y5, Y5 \
	VMOVUPS (B)(BX*1), Y6 \
	VADDPS Y5, Y6, Y6 \
	VMOVUPS Y6, (B)(BX*1)

// func vrRHSAVX2(a11, a22, b1, b2, wx, wy, fu, fv *float32, pitch, n int)
//
// b1 += wr*(uR-u) - wl*(u-uL) + wd*(uD-u) - wu*(u-uU) (b2 likewise with
// v), s = wl+wr+wu+wd, a11 = 1/(a11+s), a22 = 1/(a22+s), for n pixels (a
// multiple of 8); wl, wu are the left pixel's wx and the upper one's wy,
// rows pitch bytes apart.
TEXT ·vrRHSAVX2(SB), NOSPLIT, $0-80
	MOVQ a11+0(FP), R8
	MOVQ a22+8(FP), R9
	MOVQ b1+16(FP), R10
	MOVQ b2+24(FP), R11
	MOVQ wx+32(FP), R12
	MOVQ wy+40(FP), R13
	MOVQ fu+48(FP), R14
	MOVQ fv+56(FP), DX
	MOVQ pitch+64(FP), DI    // down index
	MOVQ n+72(FP), CX
	XORQ BX, BX
	MOVQ BX, SI
	SUBQ DI, SI              // up index
	BCAST($0x3f800000, Y15)  // 1
	SHRQ $3, CX
	JZ   rdone

rloop:
	WEIGHTS(R12, R13, SI)

	RHSTERM(R14, R10)        // b1
	RHSTERM(DX, R11)         // b2

	VADDPS Y1, Y0, Y0        // s = ((wl+wr)+wu)+wd
	VADDPS Y2, Y0, Y0
	VADDPS Y3, Y0, Y0
	VADDPS (R8)(BX*1), Y0, Y1
	VDIVPS Y1, Y15, Y1
	VMOVUPS Y1, (R8)(BX*1)
	VADDPS (R9)(BX*1), Y0, Y1
	VDIVPS Y1, Y15, Y1
	VMOVUPS Y1, (R9)(BX*1)

	ADDQ $32, BX
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  rloop

rdone:
	VZEROUPPER
	RET

// NEIGHBOURS loads the group of plane D into C and sets S to ((wl*left +
// wr*right) + wu*up) + wd*down (weights in Y0..Y3, rows above and below
// at AX, DI). The left neighbours are C rotated up a lane, with lane 0
// from PREV (the previous group as loaded), which then takes C: a load at
// x-1 would overlap the previous group's store and stall its forwarding.
// Clobbers Y8.
#define NEIGHBOURS(D, PREV, C, S) \
	VMOVUPS (D)(BX*1), C \
	VPERMPS C, Y13, S \
	VPERMPS PREV, Y13, Y8 \
	VBLENDPS $1, Y8, S, S \
	VMOVAPS C, PREV \
	VMULPS S, Y0, S \
	VMULPS 4(D)(BX*1), Y1, Y8 \
	VADDPS Y8, S, S \
	VMULPS (D)(AX*1), Y2, Y8 \
	VADDPS Y8, S, S \
	VMULPS (D)(DI*1), Y3, Y8 \
	VADDPS Y8, S, S

// SORSTEP sets N = O + w*(((B+S) - a12*X)*A - O), w in Y14, a12 in Y8,
// B and A the planes of b and of the inverse diagonal, keeps O in the
// lanes not updated (mask Y15) and stores N to the plane D (clobbers T).
#define SORSTEP(B, A, D, S, O, X, N, T) \
	VMOVUPS (B)(BX*1), N \
	VADDPS S, N, N \
	VMULPS X, Y8, T \
	VSUBPS T, N, N \
	VMULPS (A)(BX*1), N, N \
	VSUBPS O, N, N \
	VMULPS Y14, N, N \
	VADDPS N, O, N \
	VBLENDVPS Y15, N, O, N \
	VMOVUPS N, (D)(BX*1)

// func vrSORAVX2(a *vrSORArgs)
//
// vrSORArgs: du 0, dv 8, a11 16, a12 24, a22 32, b1 40, b2 48, wx 56,
// wy 64, pitch 72, n 80, odd 88. Updates the pixels at odd (odd = 1) or
// even x of n (a multiple of 8); the others are stored back unchanged.
TEXT ·vrSORAVX2(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), AX
	MOVQ 0(AX), R8   // du
	MOVQ 8(AX), R9   // dv
	MOVQ 16(AX), R10 // a11
	MOVQ 24(AX), R11 // a12
	MOVQ 32(AX), R12 // a22
	MOVQ 40(AX), R13 // b1
	MOVQ 48(AX), R14 // b2
	MOVQ 56(AX), SI  // wx
	MOVQ 64(AX), DX  // wy
	MOVQ 72(AX), DI  // down index = pitch
	MOVQ 80(AX), CX
	MOVQ 88(AX), BX
	SHLQ $5, BX
	LEAQ sorMask<>(SB), AX
	VMOVUPS (AX)(BX*1), Y15
	VMOVUPS ·rotUp(SB), Y13
	MOVL $0x3fcccccd, AX     // vrOmega
	VMOVD AX, X14
	VBROADCASTSS X14, Y14
	XORQ BX, BX
	MOVQ BX, AX
	SUBQ DI, AX              // up index
	// The left neighbours come from registers, not from a load at x-1:
	// that load would overlap the previous group's store and stall its
	// forwarding. Y11, Y12: the previous group's du, dv as loaded (its
	// lane 7, the left neighbour of lane 0, is only used where it was not
	// updated); before the first group the eight pixels left of it.
	VMOVUPS -32(R8), Y11
	VMOVUPS -32(R9), Y12
	SHRQ $3, CX
	JZ   odone

oloop:
	WEIGHTS(SI, DX, AX)

	NEIGHBOURS(R8, Y11, Y6, Y4) // ou, su
	NEIGHBOURS(R9, Y12, Y7, Y5) // ov, sv

	VMOVUPS (R11)(BX*1), Y8  // a12

	SORSTEP(R13, R10, R8, Y4, Y6, Y7, Y9, Y10)  // nu = ou + w*(((b1+su) - a12*ov)*a11 - ou)
	SORSTEP(R14, R12, R9, Y5, Y7, Y9, Y10, Y4)  // nv = ov + w*(((b2+sv) - a12*nu)*a22 - ov)

	ADDQ $32, BX
	ADDQ $32, AX
	ADDQ $32, DI
	DECQ CX
	JNZ  oloop

odone:
	VZEROUPPER
	RET
