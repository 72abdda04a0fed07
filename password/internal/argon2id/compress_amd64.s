//go:build amd64 && !purego

#include "textflag.h"

// VPSHUFB masks that rotate every 64-bit word right by 24 and by 16 bits.
DATA ·rotr24<>+0x00(SB)/8, $0x0201000706050403
DATA ·rotr24<>+0x08(SB)/8, $0x0a09080f0e0d0c0b
DATA ·rotr24<>+0x10(SB)/8, $0x0201000706050403
DATA ·rotr24<>+0x18(SB)/8, $0x0a09080f0e0d0c0b
GLOBL ·rotr24<>(SB), (NOPTR+RODATA), $32

DATA ·rotr16<>+0x00(SB)/8, $0x0100070605040302
DATA ·rotr16<>+0x08(SB)/8, $0x09080f0e0d0c0b0a
DATA ·rotr16<>+0x10(SB)/8, $0x0100070605040302
DATA ·rotr16<>+0x18(SB)/8, $0x09080f0e0d0c0b0a
GLOBL ·rotr16<>(SB), (NOPTR+RODATA), $32

// A = A + B + 2·lo32(A)·lo32(B) in each 64-bit lane; T is clobbered.
#define BLAMKA_ADD(A, B, T) \
	VPMULUDQ B, A, T; \
	VPADDQ   B, A, A; \
	VPADDQ   T, T, T; \
	VPADDQ   T, A, A

// GB (RFC 9106, section 3.6) on four lanes at once: A, B, C and D hold
// a, b, c and d of four independent applications. T is clobbered; Y14 and
// Y15 hold the rotr24 and rotr16 masks.
#define GB(A, B, C, D, T) \
	BLAMKA_ADD(A, B, T); \
	VPXOR    A, D, D; \
	VPSHUFD  $0xb1, D, D; \
	BLAMKA_ADD(C, D, T); \
	VPXOR    C, B, B; \
	VPSHUFB  Y14, B, B; \
	BLAMKA_ADD(A, B, T); \
	VPXOR    A, D, D; \
	VPSHUFB  Y15, D, D; \
	BLAMKA_ADD(C, D, T); \
	VPXOR    C, B, B; \
	VPADDQ   B, B, T; \
	VPSRLQ   $63, B, B; \
	VPOR     T, B, B

// The BlaMka round on the 4×4 matrix of words whose rows are A, B, C, D:
// GB on the columns, then rotate rows B, C and D left by 1, 2 and 3 words
// so that the diagonals line up as columns, GB again, and rotate back.
#define ROUND(A, B, C, D, T) \
	GB(A, B, C, D, T); \
	VPERMQ $0x39, B, B; \
	VPERMQ $0x4e, C, C; \
	VPERMQ $0x93, D, D; \
	GB(A, B, C, D, T); \
	VPERMQ $0x93, B, B; \
	VPERMQ $0x4e, C, C; \
	VPERMQ $0x39, D, D

// Asks for the 16 cache lines of the block at P.
#define PREFETCH_BLOCK(P) \
	PREFETCHT0 0(P); \
	PREFETCHT0 64(P); \
	PREFETCHT0 128(P); \
	PREFETCHT0 192(P); \
	PREFETCHT0 256(P); \
	PREFETCHT0 320(P); \
	PREFETCHT0 384(P); \
	PREFETCHT0 448(P); \
	PREFETCHT0 512(P); \
	PREFETCHT0 576(P); \
	PREFETCHT0 640(P); \
	PREFETCHT0 704(P); \
	PREFETCHT0 768(P); \
	PREFETCHT0 832(P); \
	PREFETCHT0 896(P); \
	PREFETCHT0 960(P)

// Loads into R the word pairs of column pair at byte offsets off and
// off2 of the block at P: one 16-byte register of two rows.
#define LOAD_PAIRS(P, off, off2, R, X) \
	VMOVDQU     off(P), X; \
	VINSERTI128 $1, off2(P), R, R

// R ^= the pairs at off and off2 of the block at P; T (whose low half is X) is clobbered.
#define XOR_PAIRS(P, off, off2, R, T, X) \
	LOAD_PAIRS(P, off, off2, T, X); \
	VPXOR T, R, R

#define STORE_PAIRS(R, X, P, off, off2) \
	VMOVDQU      X, off(P); \
	VEXTRACTI128 $1, R, off2(P)

// func compressRowsAVX2(x, y, scratch *block)
TEXT ·compressRowsAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DX
	MOVQ scratch+16(FP), BX

	// y is the reference block, usually far away in memory: ask for all
	// of it now rather than a line at a time as the rows need it.
	PREFETCH_BLOCK(DX)

	VMOVDQU ·rotr24<>(SB), Y14
	VMOVDQU ·rotr16<>(SB), Y15

	// scratch = P(x ⊕ y), row by row, 128 bytes each.
	MOVQ $8, CX

rows:
	VMOVDQU 0(SI), Y0
	VMOVDQU 32(SI), Y1
	VMOVDQU 64(SI), Y2
	VMOVDQU 96(SI), Y3
	VPXOR   0(DX), Y0, Y0
	VPXOR   32(DX), Y1, Y1
	VPXOR   64(DX), Y2, Y2
	VPXOR   96(DX), Y3, Y3
	ROUND(Y0, Y1, Y2, Y3, Y4)
	VMOVDQU Y0, 0(BX)
	VMOVDQU Y1, 32(BX)
	VMOVDQU Y2, 64(BX)
	VMOVDQU Y3, 96(BX)
	ADDQ    $128, SI
	ADDQ    $128, DX
	ADDQ    $128, BX
	DECQ    CX
	JNZ     rows

	VZEROUPPER
	RET

// func compressColumnsAVX2(out, x, y, scratch *block, xor bool, first, n int)
//
// A column is the 16-byte pair at the same offset in each of the 8 rows;
// two rows' pairs make one register. out = P ⊕ x ⊕ y, or out ⊕= that, for
// columns first to first+n-1 (of 8).
TEXT ·compressColumnsAVX2(SB), NOSPLIT, $0-56
	MOVQ out+0(FP), R11
	MOVQ x+8(FP), R8
	MOVQ y+16(FP), R9
	MOVQ scratch+24(FP), R10
	MOVB xor+32(FP), AX
	MOVQ first+40(FP), DX
	MOVQ n+48(FP), CX
	SHLQ $4, DX
	ADDQ DX, R8
	ADDQ DX, R9
	ADDQ DX, R10
	ADDQ DX, R11

	VMOVDQU ·rotr24<>(SB), Y14
	VMOVDQU ·rotr16<>(SB), Y15

columns:
	LOAD_PAIRS(R10, 0, 128, Y0, X0)
	LOAD_PAIRS(R10, 256, 384, Y1, X1)
	LOAD_PAIRS(R10, 512, 640, Y2, X2)
	LOAD_PAIRS(R10, 768, 896, Y3, X3)
	ROUND(Y0, Y1, Y2, Y3, Y4)
	XOR_PAIRS(R8, 0, 128, Y0, Y4, X4)
	XOR_PAIRS(R8, 256, 384, Y1, Y5, X5)
	XOR_PAIRS(R8, 512, 640, Y2, Y6, X6)
	XOR_PAIRS(R8, 768, 896, Y3, Y7, X7)
	XOR_PAIRS(R9, 0, 128, Y0, Y4, X4)
	XOR_PAIRS(R9, 256, 384, Y1, Y5, X5)
	XOR_PAIRS(R9, 512, 640, Y2, Y6, X6)
	XOR_PAIRS(R9, 768, 896, Y3, Y7, X7)
	TESTB AL, AL
	JZ    store
	XOR_PAIRS(R11, 0, 128, Y0, Y4, X4)
	XOR_PAIRS(R11, 256, 384, Y1, Y5, X5)
	XOR_PAIRS(R11, 512, 640, Y2, Y6, X6)
	XOR_PAIRS(R11, 768, 896, Y3, Y7, X7)

store:
	STORE_PAIRS(Y0, X0, R11, 0, 128)
	STORE_PAIRS(Y1, X1, R11, 256, 384)
	STORE_PAIRS(Y2, X2, R11, 512, 640)
	STORE_PAIRS(Y3, X3, R11, 768, 896)
	ADDQ $16, R8
	ADDQ $16, R9
	ADDQ $16, R10
	ADDQ $16, R11
	DECQ CX
	JNZ  columns

	VZEROUPPER
	RET

// func prefetchBlock(b *block)
TEXT ·prefetchBlock(SB), NOSPLIT, $0-8
	MOVQ       b+0(FP), DX
	PREFETCH_BLOCK(DX)
	RET
