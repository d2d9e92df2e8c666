/* asm_switch(void **save_sp, void *load_sp): the least a context switch can
 * do on x86_64 System V. Push the callee-saved registers, store the stack
 * pointer, load the other context's, pop its registers and return into it.
 * (No FP control words, no signal mask: this is the physical floor.) */
        .text
        .globl  asm_switch
        .type   asm_switch, @function
asm_switch:
        pushq   %rbp
        pushq   %rbx
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        movq    %rsp, (%rdi)
        movq    %rsi, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        ret
        .size   asm_switch, .-asm_switch
        .section .note.GNU-stack,"",@progbits
