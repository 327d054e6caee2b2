/*
 * The C example firmware: segments UART0 input with the crf_mcu C API until EOT (0x04), exactly as the
 * Rust firmware does (firmware/src/app.rs and uart_segmenter.rs): same model, same chunks, same output
 * bytes, the same key=value figures on the semihosting log (plain text here, not defmt), and the same
 * exit codes. Polled UART; see capi/README.md for the build.
 */
#include <stddef.h>
#include <stdint.h>

#include "board.h"
#include "crf_mcu.h"

/* End of transmission (Ctrl-D): ends the input. */
#define EOT 0x04
/* Most input bytes handed to the segmenter in one call (as the Rust firmware). */
#define INPUT_CHUNK_BYTES 128

/* The model file in flash (model.S). */
extern const uint8_t MODEL_IMAGE[];
extern const uint32_t MODEL_IMAGE_LEN;

/* The library's states, in static RAM at the header's bounds. */
static _Alignas(CRF_STORAGE_ALIGN) uint8_t model_memory[CRF_MODEL_STORAGE_BYTES];
static _Alignas(CRF_STORAGE_ALIGN) uint8_t segmenter_memory[CRF_SEGMENTER_STORAGE_BYTES];

/* A small log line builder: no printf, so no formatting code in flash. */
typedef struct {
    char text[256];
    size_t len;
} line;

static void put_text(line *out, const char *text) {
    while (*text && out->len + 1 < sizeof out->text) {
        out->text[out->len++] = *text++;
    }
    out->text[out->len] = 0;
}

static void put_u64(line *out, uint64_t value) {
    char digits[24];
    size_t count = 0;
    do {
        digits[count++] = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    while (count && out->len + 1 < sizeof out->text) {
        out->text[out->len++] = digits[--count];
    }
    out->text[out->len] = 0;
}

/* " key=value" */
static void put_field(line *out, const char *key, uint64_t value) {
    put_text(out, " ");
    put_text(out, key);
    put_text(out, "=");
    put_u64(out, value);
}

/* " key=numerator/denominator" as a decimal with three places. */
static void put_ratio(line *out, const char *key, uint64_t numerator, uint64_t denominator) {
    uint64_t thousandths = denominator ? (numerator * 1000 + denominator / 2) / denominator : 0;
    put_field(out, key, thousandths / 1000);
    put_text(out, ".");
    uint64_t fraction = thousandths % 1000;
    put_text(out, fraction < 100 ? (fraction < 10 ? "00" : "0") : "");
    put_u64(out, fraction);
}

static void log_line(line *out) {
    put_text(out, "\n");
    semihosting_write(out->text);
    out->len = 0;
}

/* What one session read, wrote and spent (as firmware/src/uart_segmenter.rs). */
typedef struct {
    uint64_t bytes_in;
    uint64_t characters;
    uint64_t line_feeds;
    uint64_t bytes_out;
    stopwatch watch;
} session;

/* The segmenter's output goes to UART0 with the stopwatch paused. */
static void write_to_uart(void *context, const uint8_t *bytes, size_t len) {
    session *stats = context;
    stopwatch_stop(&stats->watch);
    uart0_write(bytes, len);
    stats->bytes_out += len;
    stopwatch_start(&stats->watch);
}

/* Fills `chunk` up to and including the next line feed, or until full, or until EOT; returns the
 * length and sets `*ended` if EOT ended the input (EOT is not part of the chunk). */
static size_t receive_chunk(uint8_t *chunk, int *ended) {
    size_t len = 0;
    *ended = 0;
    while (len < INPUT_CHUNK_BYTES) {
        uint8_t byte = uart0_read_byte();
        if (byte == EOT) {
            *ended = 1;
            return len;
        }
        chunk[len++] = byte;
        if (byte == '\n') {
            break;
        }
    }
    return len;
}

static int fail(const char *what, crf_status status) {
    line out = {{0}, 0};
    put_text(&out, "error: ");
    put_text(&out, what);
    put_text(&out, ": ");
    put_text(&out, crf_status_message(status));
    log_line(&out);
    return EXIT_FAILURE_CODE;
}

int main(void) {
    uart0_init();
    line out = {{0}, 0};
    /* The host starts sending once this first line is out (UART0 is set up by then). */
    put_text(&out, "boot: board=" BOARD_NAME " core=" BOARD_CORE " firmware=c");
    log_line(&out);

    systick_start();
    uint64_t calibration_instructions, calibration_ticks;
    systick_calibrate(&calibration_instructions, &calibration_ticks);

    const crf_model *model;
    const char *message;
    crf_status status =
        crf_model_init(model_memory, sizeof model_memory, MODEL_IMAGE, MODEL_IMAGE_LEN, &model, &message);
    if (status != CRF_STATUS_OK) {
        put_text(&out, "error: model rejected: ");
        put_text(&out, message);
        log_line(&out);
        return EXIT_FAILURE_CODE;
    }
    size_t model_init_stack = peak_stack_bytes();
    crf_segmenter *segmenter;
    status = crf_segmenter_init(segmenter_memory, sizeof segmenter_memory, model, &segmenter);
    if (status != CRF_STATUS_OK) {
        return fail("segmenter", status);
    }

    size_t flash = flash_bytes();
    put_text(&out, "memory:");
    put_field(&out, "flash", flash);
    put_field(&out, "flash_code", flash - MODEL_IMAGE_LEN);
    put_field(&out, "flash_model", MODEL_IMAGE_LEN);
    put_field(&out, "static_ram", static_ram_bytes());
    put_field(&out, "segmenter_state", crf_segmenter_size());
    put_field(&out, "model_state", crf_model_size());
    put_field(&out, "model_init_stack", model_init_stack);
    put_field(&out, "init_stack", peak_stack_bytes());
    log_line(&out);
    put_text(&out, "ready: segmenting UART0 input until EOT (0x04)");
    log_line(&out);

    session stats = {0, 0, 0, 0, {0, 0, 0}};
    uint8_t chunk[INPUT_CHUNK_BYTES];
    for (;;) {
        int ended;
        size_t len = receive_chunk(chunk, &ended);
        stats.bytes_in += len;
        for (size_t i = 0; i < len; i++) {
            stats.characters += (chunk[i] & 0xC0) != 0x80;
            stats.line_feeds += chunk[i] == '\n';
        }
        stopwatch_start(&stats.watch);
        status = crf_segmenter_push(segmenter, chunk, len, write_to_uart, &stats);
        if (status == CRF_STATUS_OK && ended) {
            status = crf_segmenter_finish(segmenter, write_to_uart, &stats);
        }
        stopwatch_stop(&stats.watch);
        if (status != CRF_STATUS_OK) {
            return fail("segmenting", status);
        }
        if (ended) {
            break;
        }
    }
    uint64_t forced_cuts = 0;
    crf_segmenter_forced_cuts(segmenter, &forced_cuts);

    put_text(&out, "input:");
    put_field(&out, "bytes_in", stats.bytes_in);
    put_field(&out, "characters", stats.characters);
    put_field(&out, "line_feeds", stats.line_feeds);
    put_field(&out, "bytes_out", stats.bytes_out);
    put_field(&out, "forced_cuts", forced_cuts);
    log_line(&out);
    uint64_t ticks = stats.watch.total_ticks;
    uint64_t instructions = ticks * calibration_instructions / calibration_ticks;
    put_text(&out, "segmenter:");
    put_field(&out, "ticks", ticks);
    put_ratio(&out, "instructions_per_tick", calibration_instructions, calibration_ticks);
    put_field(&out, "instructions", instructions);
    put_ratio(&out, "instructions_per_char", instructions, stats.characters);
    put_text(&out, " (instructions: valid under qemu -icount shift=0)");
    log_line(&out);
    size_t peak_stack = peak_stack_bytes();
    put_text(&out, "memory:");
    put_field(&out, "peak_stack", peak_stack);
    put_field(&out, "static_ram", static_ram_bytes());
    put_field(&out, "ram_in_use", static_ram_bytes() + peak_stack);
    put_field(&out, "stack_capacity", stack_capacity_bytes());
    log_line(&out);
    return EXIT_SUCCESS_CODE;
}
