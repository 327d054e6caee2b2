/*
 * crf_segment: the C API on a PC. Segments (or labels) standard input with a model file, like
 * `trainer segment --model MODEL`, byte for byte.
 *
 *   crf_segment MODEL           words two spaces apart, one line per input line
 *   crf_segment --label MODEL   each character followed by /TAG, separators kept as they are
 *
 * Options before MODEL, as in `trainer segment`: --user-dict FILE (words to keep whole, one a line,
 * compiled with crf_dictionary_compile) and --no-forced-spans (let the model alone split numbers, URLs
 * and e-mail addresses).
 *
 * Build (see capi/README.md): cc -I capi/include crf_segment.c libcrf_mcu.a -lpthread -ldl -lm
 * The program allocates only the model file's buffer; the library allocates nothing.
 */

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crf_mcu.h"

/* Caller memory for the states, at the bounds the header gives. */
static _Alignas(CRF_STORAGE_ALIGN) unsigned char model_memory[CRF_MODEL_STORAGE_BYTES];
static _Alignas(CRF_STORAGE_ALIGN) unsigned char dictionary_memory[CRF_DICTIONARY_STORAGE_BYTES];
static _Alignas(CRF_STORAGE_ALIGN) unsigned char state_memory[CRF_SEGMENTER_STORAGE_BYTES > CRF_LABELER_STORAGE_BYTES
                                                                  ? CRF_SEGMENTER_STORAGE_BYTES
                                                                  : CRF_LABELER_STORAGE_BYTES];

static void write_stdout(void *context, const uint8_t *bytes, size_t len) {
    (void)context;
    fwrite(bytes, 1, len, stdout);
}

/* Prints a unit with its tag's name: "研/B", a separator or line ending as it was. */
static void print_unit(void *context, const crf_unit *unit) {
    const crf_model *model = context;
    fwrite(unit->bytes, 1, unit->len, stdout);
    if (unit->tag == CRF_TAG_SEPARATOR || unit->tag == CRF_TAG_LINE_END) {
        return;
    }
    const char *name;
    size_t name_len;
    if (crf_model_tag_name(model, unit->tag, &name, &name_len) == CRF_STATUS_OK) {
        printf("/%.*s ", (int)name_len, name);
    }
}

static int fail(const char *what, crf_status status) {
    fprintf(stderr, "crf_segment: %s: %s\n", what, crf_status_message(status));
    return 1;
}

/* The whole file, or NULL (with a message). */
static uint8_t *read_file(const char *path, size_t *len) {
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        perror(path);
        return NULL;
    }
    uint8_t *bytes = NULL;
    size_t capacity = 0;
    *len = 0;
    for (;;) {
        if (*len == capacity) {
            capacity = capacity ? 2 * capacity : 1 << 16;
            uint8_t *grown = realloc(bytes, capacity);
            if (grown == NULL) {
                fprintf(stderr, "%s: out of memory\n", path);
                free(bytes);
                fclose(file);
                return NULL;
            }
            bytes = grown;
        }
        size_t got = fread(bytes + *len, 1, capacity - *len, file);
        if (got == 0) {
            break;
        }
        *len += got;
    }
    int failed = ferror(file);
    fclose(file);
    if (failed) {
        fprintf(stderr, "%s: read error\n", path);
        free(bytes);
        return NULL;
    }
    return bytes;
}

/* Compiles the word list at `path` and loads it into dictionary_memory; NULL (with a message naming the
 * file and line) if it cannot. The compiled bytes stay allocated while the program runs. */
static const crf_dictionary *load_user_dict(const char *path) {
    size_t list_len;
    uint8_t *list = read_file(path, &list_len);
    if (list == NULL) {
        return NULL;
    }
    size_t needed = 0, line = 0;
    const char *message;
    /* First ask for the compiled size, then compile into a buffer of that size. */
    crf_status status = crf_dictionary_compile(list, list_len, NULL, 0, &needed, &line, &message);
    uint8_t *compiled = status == CRF_STATUS_BUFFER_TOO_SMALL ? malloc(needed) : NULL;
    if (compiled != NULL) {
        status = crf_dictionary_compile(list, list_len, compiled, needed, &needed, &line, &message);
    }
    free(list);
    if (status != CRF_STATUS_OK) {
        if (line > 0) {
            fprintf(stderr, "crf_segment: %s: line %zu: %s\n", path, line, message);
        } else {
            fprintf(stderr, "crf_segment: %s: %s\n", path, compiled == NULL ? "out of memory" : message);
        }
        free(compiled);
        return NULL;
    }
    const crf_dictionary *dictionary;
    status = crf_dictionary_init(dictionary_memory, sizeof dictionary_memory, compiled, needed, &dictionary, &message);
    if (status != CRF_STATUS_OK) {
        fprintf(stderr, "crf_segment: %s: %s\n", path, message);
        free(compiled);
        return NULL;
    }
    return dictionary;
}

static int usage(const char *program) {
    fprintf(stderr, "usage: %s [--label] [--user-dict FILE] [--no-forced-spans] MODEL < text\n", program);
    return 2;
}

int main(int argc, char **argv) {
    int label = 0;
    bool forced_spans = true;
    const char *user_dict = NULL;
    int arg = 1;
    for (; arg < argc && strncmp(argv[arg], "--", 2) == 0; arg++) {
        if (strcmp(argv[arg], "--label") == 0) {
            label = 1;
        } else if (strcmp(argv[arg], "--no-forced-spans") == 0) {
            forced_spans = false;
        } else if (strcmp(argv[arg], "--user-dict") == 0 && arg + 1 < argc) {
            user_dict = argv[++arg];
        } else {
            return usage(argv[0]);
        }
    }
    if (arg + 1 != argc) {
        return usage(argv[0]);
    }
    const char *model_path = argv[arg];
    size_t model_len;
    uint8_t *model_bytes = read_file(model_path, &model_len);
    if (model_bytes == NULL) {
        return 1;
    }

    const crf_model *model;
    const char *message;
    crf_status status =
        crf_model_init(model_memory, sizeof model_memory, model_bytes, model_len, &model, &message);
    if (status != CRF_STATUS_OK) {
        fprintf(stderr, "crf_segment: %s: %s\n", model_path, message);
        return 1;
    }
    const crf_dictionary *dictionary = NULL;
    if (user_dict != NULL && (dictionary = load_user_dict(user_dict)) == NULL) {
        return 1;
    }

    crf_segmenter *segmenter = NULL;
    crf_labeler *labeler = NULL;
    status = label ? crf_labeler_init_with_rules(state_memory, sizeof state_memory, model, dictionary, forced_spans,
                                                 &labeler)
                   : crf_segmenter_init_with_rules(state_memory, sizeof state_memory, model, dictionary,
                                                   forced_spans, &segmenter);
    if (status != CRF_STATUS_OK) {
        return fail("init", status);
    }

    uint8_t input[4096];
    size_t got;
    while ((got = fread(input, 1, sizeof input, stdin)) > 0) {
        status = label ? crf_labeler_push(labeler, input, got, print_unit, (void *)model)
                       : crf_segmenter_push(segmenter, input, got, write_stdout, NULL);
        if (status != CRF_STATUS_OK) {
            return fail("push", status);
        }
    }
    status = label ? crf_labeler_finish(labeler, print_unit, (void *)model)
                   : crf_segmenter_finish(segmenter, write_stdout, NULL);
    if (status != CRF_STATUS_OK) {
        return fail("finish", status);
    }
    free(model_bytes);
    return fflush(stdout) == 0 && !ferror(stdin) ? 0 : 1;
}
