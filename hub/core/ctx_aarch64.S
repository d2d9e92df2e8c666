/* hub/ctx_aarch64.S - the greenlet context switch for aarch64 (AAPCS64).
 *
 * void grove__ctx_switch(void **save_sp, void *load_sp);
 *
 * Saves x19-x30 (x29 frame pointer, x30 link register), the low halves of
 * v8-v15 (d8-d15) and FPCR in a 176-byte frame, stores sp in *save_sp, loads
 * load_sp and restores the same frame; `ret` then jumps to the restored x30.
 * grove__ctx_init (stack.c) builds a first frame whose x30 is the entry.
 */
        .text
        .globl  grove__ctx_switch
        .hidden grove__ctx_switch
        .type   grove__ctx_switch, %function
        .p2align 4
grove__ctx_switch:
        sub     sp, sp, #176
        stp     x19, x20, [sp, #0]
        stp     x21, x22, [sp, #16]
        stp     x23, x24, [sp, #32]
        stp     x25, x26, [sp, #48]
        stp     x27, x28, [sp, #64]
        stp     x29, x30, [sp, #80]
        stp     d8, d9, [sp, #96]
        stp     d10, d11, [sp, #112]
        stp     d12, d13, [sp, #128]
        stp     d14, d15, [sp, #144]
        mrs     x9, fpcr
        str     x9, [sp, #160]
        mov     x9, sp
        str     x9, [x0]
        mov     sp, x1
        ldr     x10, [sp, #160]
        mrs     x9, fpcr
        cmp     x9, x10
        b.eq    1f
        msr     fpcr, x10       /* only when it differs: writing FPCR is slow */
1:      ldp     x19, x20, [sp, #0]
        ldp     x21, x22, [sp, #16]
        ldp     x23, x24, [sp, #32]
        ldp     x25, x26, [sp, #48]
        ldp     x27, x28, [sp, #64]
        ldp     x29, x30, [sp, #80]
        ldp     d8, d9, [sp, #96]
        ldp     d10, d11, [sp, #112]
        ldp     d12, d13, [sp, #128]
        ldp     d14, d15, [sp, #144]
        add     sp, sp, #176
        ret
        .size   grove__ctx_switch, .-grove__ctx_switch

        .section .note.GNU-stack,"",%progbits
