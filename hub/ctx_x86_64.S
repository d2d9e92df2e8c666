/* hub/ctx_x86_64.S - the greenlet context switch for x86_64 (System V).
 *
 * void grove__ctx_switch(void **save_sp, void *load_sp);
 *
 * Saves the callee-saved registers (rbp, rbx, r12-r15) and the floating-point
 * control words (MXCSR and the x87 control word) on the current stack, stores
 * the stack pointer in *save_sp, loads load_sp and restores the same set from
 * there. Everything else is caller-saved, so the C compiler has already spilled
 * what it needs. A new context is prepared by grove__ctx_init (stack.c) in the
 * same layout, with the entry function as the return address.
 */
        .text
        .globl  grove__ctx_switch
        .hidden grove__ctx_switch
        .type   grove__ctx_switch, @function
        .p2align 4
grove__ctx_switch:
        .cfi_startproc
        pushq   %rbp
        pushq   %rbx
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        subq    $8, %rsp
        stmxcsr (%rsp)
        fnstcw  4(%rsp)
        movq    %rsp, (%rdi)
        movq    %rsi, %rsp
        ldmxcsr (%rsp)
        fldcw   4(%rsp)
        addq    $8, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        ret
        .cfi_endproc
        .size   grove__ctx_switch, .-grove__ctx_switch

        .section .note.GNU-stack,"",@progbits
