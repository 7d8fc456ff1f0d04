// Macros shared by the temporal package's AVX2 kernels.

// BCAST broadcasts the float32 whose bits are imm to all lanes of Y
// (clobbers AX and X0).
#define BCAST(imm, Y) MOVL imm, AX; VMOVD AX, X0; VBROADCASTSS X0, Y
