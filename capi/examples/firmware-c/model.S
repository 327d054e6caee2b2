/*
 * The model file, embedded in flash. CRF_MODEL_FILE is its path (a string), set by the build
 * (cargo xtask; see capi/README.md). The symbol name contains MODEL_IMAGE, like the Rust firmware's,
 * so that cargo xtask can split the image's flash into code and model.
 */
    .section .rodata.MODEL_IMAGE, "a", %progbits
    .balign 4
    .global MODEL_IMAGE
    .type MODEL_IMAGE, %object
MODEL_IMAGE:
    .incbin CRF_MODEL_FILE
MODEL_IMAGE_END:
    .size MODEL_IMAGE, MODEL_IMAGE_END - MODEL_IMAGE

    .section .rodata.MODEL_IMAGE_LEN, "a", %progbits
    .balign 4
    .global MODEL_IMAGE_LEN
    .type MODEL_IMAGE_LEN, %object
MODEL_IMAGE_LEN:
    .word MODEL_IMAGE_END - MODEL_IMAGE
    .size MODEL_IMAGE_LEN, 4
    .section .note.GNU-stack, "", %progbits
