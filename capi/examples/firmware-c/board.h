/*
 * The board support of the C example firmware: UART0, SysTick, semihosting and the memory map of the
 * LM3S6965 (Cortex-M3) under qemu-system-arm -M lm3s6965evb.
 */
#ifndef BOARD_H
#define BOARD_H

#include <stddef.h>
#include <stdint.h>

#define BOARD_NAME "lm3s6965evb"
#define BOARD_CORE "Cortex-M3"

/* Exit codes, as the Rust firmware's (firmware/src/exit.rs). */
enum exit_code { EXIT_SUCCESS_CODE = 0, EXIT_FAILURE_CODE = 1, EXIT_PANIC_CODE = 101, EXIT_FAULT_CODE = 102 };

/* UART0, 8N1 with FIFOs, polled. */
void uart0_init(void);
void uart0_write(const uint8_t *bytes, size_t len);
uint8_t uart0_read_byte(void);

/* Semihosting: a NUL-terminated string to the debugger's (QEMU's) stdout, and the end of the program
 * with an exit status that QEMU returns. */
void semihosting_write(const char *text);
_Noreturn void semihosting_exit(int code);

/* SysTick running free over its 24 bits on the core clock, and a stopwatch over it. */
void systick_start(void);
typedef struct {
    uint32_t started_at;
    int running;
    uint64_t total_ticks;
} stopwatch;
void stopwatch_start(stopwatch *watch);
void stopwatch_stop(stopwatch *watch);
/* Instructions per tick under qemu -icount shift=0, as instructions / ticks of a calibration loop. */
void systick_calibrate(uint64_t *instructions, uint64_t *ticks);

/* Memory figures from the linker script's symbols and the stack paint. */
size_t flash_bytes(void);
size_t static_ram_bytes(void);
size_t stack_capacity_bytes(void);
size_t peak_stack_bytes(void);

#endif
