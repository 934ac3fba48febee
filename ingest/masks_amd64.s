#include "textflag.h"

// func maskBlocksAVX2(data *byte, blocks int, sep byte, nl, quote, sp *uint64)
// For each 64-byte block of data, one word each of nl, quote and sp: bit k
// set when byte k of the block is '\n', '"' or sep.
TEXT ·maskBlocksAVX2(SB), NOSPLIT, $0-48
	MOVQ data+0(FP), SI
	MOVQ blocks+8(FP), CX
	MOVBQZX sep+16(FP), AX
	MOVQ nl+24(FP), DI
	MOVQ quote+32(FP), DX
	MOVQ sp+40(FP), BX
	MOVQ $0x0a, R8
	MOVQ R8, X0
	VPBROADCASTB X0, Y0
	MOVQ $0x22, R8
	MOVQ R8, X1
	VPBROADCASTB X1, Y1
	MOVQ AX, X2
	VPBROADCASTB X2, Y2
	TESTQ CX, CX
	JZ done

loop:
	VMOVDQU (SI), Y3
	VMOVDQU 32(SI), Y4

	VPCMPEQB Y3, Y0, Y5
	VPCMPEQB Y4, Y0, Y6
	VPMOVMSKB Y5, R8
	VPMOVMSKB Y6, R9
	SHLQ $32, R9
	ORQ R9, R8
	MOVQ R8, (DI)

	VPCMPEQB Y3, Y1, Y5
	VPCMPEQB Y4, Y1, Y6
	VPMOVMSKB Y5, R8
	VPMOVMSKB Y6, R9
	SHLQ $32, R9
	ORQ R9, R8
	MOVQ R8, (DX)

	VPCMPEQB Y3, Y2, Y5
	VPCMPEQB Y4, Y2, Y6
	VPMOVMSKB Y5, R8
	VPMOVMSKB Y6, R9
	SHLQ $32, R9
	ORQ R9, R8
	MOVQ R8, (BX)

	ADDQ $64, SI
	ADDQ $8, DI
	ADDQ $8, DX
	ADDQ $8, BX
	DECQ CX
	JNZ loop

done:
	VZEROUPPER
	RET
