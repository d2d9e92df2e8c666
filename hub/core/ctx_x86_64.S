/* hub/ctx_x86_64.S - the greenlet context switch for x86_64 (System V).
 *
 * void grove__ctx_switch(void **save_sp, void *load_sp);
 *
 * Saves the callee-saved registers (rbp, rbx, r12-r15) and the floating-point
 * control words (MXCSR and the x87 control word) on the current stack, stores
 * the stack pointer in *save_sp, loads load_sp and restores the same set from
 * there. Everything else is caller-saved, so the C compiler has already
 * spilled what it needs.
 *
 * Frame, from the saved stack pointer up:
 *   0 r15, 8 r14, 16 r13, 24 r12, 32 rbx, 40 rbp, 48 MXCSR (4 bytes),
 *   52 x87 control word (2 bytes), 56 return address
 * grove__ctx_init (stack.c) builds a first frame in the same layout with the
 * entry function as the return address.
 *
 * Two measured choices (see docs/benchmarks):
 *   - the FP control words are always saved (cheap) but only reloaded when
 *     their control bits differ from the live ones: ldmxcsr and fldcw on
 *     every switch cost ~10x the rest of the switch. MXCSR's low six bits are
 *     sticky exception *flags*, not control, and are left out of the
 *     comparison (they stay per thread);
 *   - the switch ends with `ret`. A context switched out inside grove's own
 *     blocking path is resumed from the same call sites another one just
 *     left, so the return-stack predictor guesses right; ending with pop +
 *     indirect jmp (as Boost.context does) leaves the predictor one entry
 *     off and every return after the switch mispredicts (yield: 15 ns with
 *     ret, 70 ns with jmp, measured by grove-bench).
 */
        .text
        .globl  grove__ctx_switch
        .hidden grove__ctx_switch
        .type   grove__ctx_switch, @function
        .p2align 4
grove__ctx_switch:
        .cfi_startproc
        subq    $8, %rsp
        stmxcsr (%rsp)
        fnstcw  4(%rsp)
        pushq   %rbp
        pushq   %rbx
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        movl    48(%rsp), %eax
        movzwl  52(%rsp), %edx
        movq    %rsp, (%rdi)
        movq    %rsi, %rsp
        xorl    48(%rsp), %eax
        testl   $0xffc0, %eax
        jne     2f
        cmpw    52(%rsp), %dx
        jne     2f
1:      popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        addq    $8, %rsp
        ret
2:      ldmxcsr 48(%rsp)
        fldcw   52(%rsp)
        jmp     1b
        .cfi_endproc
        .size   grove__ctx_switch, .-grove__ctx_switch

        .section .note.GNU-stack,"",@progbits
