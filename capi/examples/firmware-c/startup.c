/*
 * Reset and exception handlers of the C example firmware: copies .data, zeroes .bss, paints the free
 * stack (for the peak-stack figure), runs main and exits through semihosting with its status. A fault
 * ends the program with exit status 102, like the Rust firmware.
 */
#include <stdint.h>

#include "board.h"

/* The stack paint, as cortex-m-rt's (feature paint-stack). */
#define STACK_PAINT 0xCCCCCCCCu

extern uint32_t _stack_top, _stack_limit;
extern uint32_t _data_start, _data_end, _data_load, _bss_start, _bss_end;

int main(void);

_Noreturn void reset_handler(void) {
    const uint32_t *from = &_data_load;
    for (uint32_t *to = &_data_start; to < &_data_end;) {
        *to++ = *from++;
    }
    for (uint32_t *word = &_bss_start; word < &_bss_end;) {
        *word++ = 0;
    }
    /* Paint from the statics up to 64 bytes below the stack pointer (this frame is in use). */
    uintptr_t stack_pointer;
    __asm__ volatile("mov %0, sp" : "=r"(stack_pointer));
    for (volatile uint32_t *word = &_stack_limit; (uintptr_t)word < stack_pointer - 64;) {
        *word++ = STACK_PAINT;
    }
    semihosting_exit(main());
}

static _Noreturn void fault_handler(void) {
    semihosting_write("error: processor fault (HardFault or an unexpected exception)\n");
    semihosting_exit(EXIT_FAULT_CODE);
}

/* The Rust library's panic handler (feature panic-handler) calls this; no API call panics. */
void crf_mcu_panic(void) {
    semihosting_write("error: the crf_mcu library panicked\n");
    semihosting_exit(EXIT_PANIC_CODE);
}

typedef void (*vector)(void);

/* Initial stack pointer, then the exception handlers of the Cortex-M3; no interrupt is enabled. */
__attribute__((section(".vector_table"), used)) static const vector vector_table[16] = {
    (vector)&_stack_top,
    reset_handler,
    fault_handler, /* NMI */
    fault_handler, /* HardFault */
    fault_handler, /* MemManage */
    fault_handler, /* BusFault */
    fault_handler, /* UsageFault */
    0,
    0,
    0,
    0,
    fault_handler, /* SVCall */
    fault_handler, /* DebugMonitor */
    0,
    fault_handler, /* PendSV */
    fault_handler, /* SysTick */
};
