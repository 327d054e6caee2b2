/* Board support of the C example firmware (see board.h). */
#include "board.h"

#define REG32(address) (*(volatile uint32_t *)(address))

/* UART0: a Stellaris (PL011-like) UART (LM3S6965 datasheet, table 2-4), as firmware/src/board. */
#define UART0_BASE 0x4000C000u
#define UART_DR REG32(UART0_BASE + 0x000)
#define UART_FR REG32(UART0_BASE + 0x018)
#define UART_LCRH REG32(UART0_BASE + 0x02C)
#define UART_CTL REG32(UART0_BASE + 0x030)
#define FR_RXFE (1u << 4)
#define FR_TXFF (1u << 5)
#define LCRH_FIFO_ENABLE (1u << 4)
#define LCRH_WORD_LENGTH_8 (3u << 5)
#define CTL_UARTEN (1u << 0)
#define CTL_TXE (1u << 8)
#define CTL_RXE (1u << 9)

void uart0_init(void) {
    /* Baud rate and pin muxing only matter on real silicon; the emulator ignores them. */
    UART_LCRH = LCRH_WORD_LENGTH_8 | LCRH_FIFO_ENABLE;
    UART_CTL = CTL_UARTEN | CTL_TXE | CTL_RXE;
}

void uart0_write(const uint8_t *bytes, size_t len) {
    for (size_t i = 0; i < len; i++) {
        while (UART_FR & FR_TXFF) {
        }
        UART_DR = bytes[i];
    }
}

uint8_t uart0_read_byte(void) {
    while (UART_FR & FR_RXFE) {
    }
    /* Bits 8..11 are error flags; the low byte is the data. */
    return (uint8_t)UART_DR;
}

/* Semihosting calls (Arm semihosting specification): operation in r0, argument in r1, BKPT 0xAB. */
#define SYS_OPEN 0x01
#define SYS_WRITE 0x05
/* SYS_OPEN mode "w": with the name ":tt", the debugger's standard output (QEMU's stdout; SYS_WRITE0
 * would go to its stderr, which cargo xtask does not read as the log). */
#define OPEN_MODE_WRITE 4
#define SYS_EXIT_EXTENDED 0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026

static uint32_t semihosting_call(uint32_t operation, const void *argument) {
    register uint32_t r0 __asm__("r0") = operation;
    register const void *r1 __asm__("r1") = argument;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void semihosting_write(const char *text) {
    static uint32_t stdout_handle;
    static int opened;
    if (!opened) {
        static const char console[] = ":tt";
        const uint32_t open_block[3] = {(uint32_t)console, OPEN_MODE_WRITE, sizeof console - 1};
        stdout_handle = semihosting_call(SYS_OPEN, open_block);
        opened = 1;
    }
    size_t len = 0;
    while (text[len]) {
        len++;
    }
    const uint32_t write_block[3] = {stdout_handle, (uint32_t)text, (uint32_t)len};
    semihosting_call(SYS_WRITE, write_block);
}

_Noreturn void semihosting_exit(int code) {
    /* SYS_EXIT_EXTENDED: QEMU exits with exactly this status. */
    const uint32_t block[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t)code};
    semihosting_call(SYS_EXIT_EXTENDED, block);
    for (;;) {
    }
}

/* SysTick: a 24-bit down-counter on the core clock. */
#define SYST_CSR REG32(0xE000E010u)
#define SYST_RVR REG32(0xE000E014u)
#define SYST_CVR REG32(0xE000E018u)
#define SYST_ENABLE (1u << 0)
#define SYST_CLKSOURCE_CORE (1u << 2)
#define COUNTER_MASK 0x00FFFFFFu

void systick_start(void) {
    SYST_CSR = 0;
    SYST_RVR = COUNTER_MASK;
    SYST_CVR = 0;
    SYST_CSR = SYST_CLKSOURCE_CORE | SYST_ENABLE;
}

void stopwatch_start(stopwatch *watch) {
    if (!watch->running) {
        watch->started_at = SYST_CVR;
        watch->running = 1;
    }
}

void stopwatch_stop(stopwatch *watch) {
    if (watch->running) {
        /* Each interval stays far below 2^24 ticks. */
        watch->total_ticks += (watch->started_at - SYST_CVR) & COUNTER_MASK;
        watch->running = 0;
    }
}

/* Iterations of the calibration loop: long enough that the few instructions around it and the tick
 * rounding are below 10^-5 (as firmware/src/systick.rs). */
#define CALIBRATION_ITERATIONS 1000000u

void systick_calibrate(uint64_t *instructions, uint64_t *ticks) {
    stopwatch watch = {0, 0, 0};
    uint32_t count = CALIBRATION_ITERATIONS;
    stopwatch_start(&watch);
    /* Exactly two instructions per iteration. */
    __asm__ volatile("1: subs %0, %0, #1\n\tbne 1b" : "+r"(count) : : "cc");
    stopwatch_stop(&watch);
    *instructions = 2ull * CALIBRATION_ITERATIONS;
    *ticks = watch.total_ticks ? watch.total_ticks : 1;
}

/* The linker script's symbols; only their addresses mean anything. */
extern uint32_t _flash_start, _data_load, _data_start, _data_end, _stack_limit, _stack_top;
#define RAM_START 0x20000000u
#define STACK_PAINT 0xCCCCCCCCu

size_t flash_bytes(void) {
    return (size_t)((uintptr_t)&_data_load - (uintptr_t)&_flash_start) +
           (size_t)((uintptr_t)&_data_end - (uintptr_t)&_data_start);
}

size_t static_ram_bytes(void) {
    return (size_t)((uintptr_t)&_stack_limit - RAM_START);
}

size_t stack_capacity_bytes(void) {
    return (size_t)((uintptr_t)&_stack_top - (uintptr_t)&_stack_limit);
}

size_t peak_stack_bytes(void) {
    const volatile uint32_t *word = &_stack_limit;
    while (word < &_stack_top && *word == STACK_PAINT) {
        word++;
    }
    return (size_t)((uintptr_t)&_stack_top - (uintptr_t)word);
}
