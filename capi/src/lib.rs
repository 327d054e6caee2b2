//! The C API of the CRF decoder: `libcrf_mcu.a` and its header `include/crf_mcu.h`.
//!
//! Nothing here allocates. The caller asks for a state's size and alignment (`crf_*_size()`,
//! `crf_*_align()`, or the `CRF_*_STORAGE_BYTES` / `CRF_STORAGE_ALIGN` constants, which bound them on every
//! target), provides the memory, and the library initialises it in place. Every call returns a
//! [`CrfStatus`]; a null pointer, memory that is too small or misaligned, a state that was never
//! initialised, or an output buffer that is too small each has its own code, and a bad model file gets
//! [`CrfStatus::BadModel`] with a static message naming the failed check. Nothing panics: the decoder never
//! does, and this glue only uses checked conversions.
//!
//! Layout: [`status`] (the codes and their messages), [`api`] (the states and everything they do, safe
//! Rust), and `ffi` (the exported `extern "C"` functions: the only module with `unsafe`, which turns raw
//! pointers into references and slices after checking them). `README.md` documents the C side.
//!
//! The user dictionary ([`dictionary`], its calls in `ffi/dictionary.rs`) is one more state in caller
//! memory over compiled "CRFd" bytes; `crf_*_init_with_rules` give it to a segmenter or labeler.

#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_code)]

// Host builds (tests, the host C program) take their panic handler from std; nothing panics anyway.
#[cfg(not(target_os = "none"))]
extern crate std;

pub mod api;
pub mod dictionary;
#[allow(unsafe_code)]
mod ffi;
pub mod status;
// The exported functions called with raw pointers, as C calls them.
#[cfg(test)]
#[allow(unsafe_code)]
mod tests;

pub use api::{CrfLabeler, CrfModel, CrfSegmenter, LabeledUnit, OneShotError, TAG_LINE_END, TAG_SEPARATOR};
pub use dictionary::CrfDictionary;
pub use status::CrfStatus;

/// Upper bound of `crf_model_size()` on every supported target (the exact size is smaller on 32-bit).
pub const CRF_MODEL_STORAGE_BYTES: usize = 1024;
/// Upper bound of `crf_segmenter_size()` on every supported target, for the library as built by default
/// (without the `neural` feature).
pub const CRF_SEGMENTER_STORAGE_BYTES: usize = 4352;
/// Upper bound of `crf_segmenter_size()` on every supported target for a library built with the `neural`
/// feature, whose segmenter carries the neural encoder's layer cache.
pub const CRF_NEURAL_SEGMENTER_STORAGE_BYTES: usize = 8192;
/// Upper bound of `crf_labeler_size()` on every supported target, for the library as built by default
/// (without the `neural` feature).
pub const CRF_LABELER_STORAGE_BYTES: usize = 4352;
/// Upper bound of `crf_labeler_size()` on every supported target for a library built with the `neural`
/// feature, whose labeler carries the neural encoder's layer cache.
pub const CRF_NEURAL_LABELER_STORAGE_BYTES: usize = 8192;
/// Upper bound of `crf_dictionary_size()` on every supported target.
pub const CRF_DICTIONARY_STORAGE_BYTES: usize = 64;
/// An alignment that suits every state on every supported target (`crf_*_align()` divide it).
pub const CRF_STORAGE_ALIGN: usize = 8;

// The bounds above are checked on every target this crate is compiled for: a build where a state
// outgrows its constant fails here instead of overrunning a C buffer sized by it.
const _: () = {
    use core::mem::{align_of, size_of};
    assert!(size_of::<CrfModel>() <= CRF_MODEL_STORAGE_BYTES, "CRF_MODEL_STORAGE_BYTES is too small");
    // A library with the `neural` feature has its own, larger segmenter and labeler bounds.
    let (segmenter_bound, labeler_bound) = if decoder::NEURAL_BUILT {
        (CRF_NEURAL_SEGMENTER_STORAGE_BYTES, CRF_NEURAL_LABELER_STORAGE_BYTES)
    } else {
        (CRF_SEGMENTER_STORAGE_BYTES, CRF_LABELER_STORAGE_BYTES)
    };
    assert!(size_of::<CrfSegmenter>() <= segmenter_bound, "the segmenter outgrew its CRF_*SEGMENTER_STORAGE_BYTES");
    assert!(size_of::<CrfLabeler>() <= labeler_bound, "the labeler outgrew its CRF_*LABELER_STORAGE_BYTES");
    assert!(size_of::<CrfDictionary>() <= CRF_DICTIONARY_STORAGE_BYTES, "CRF_DICTIONARY_STORAGE_BYTES is too small");
    assert!(CRF_STORAGE_ALIGN % align_of::<CrfModel>() == 0);
    assert!(CRF_STORAGE_ALIGN % align_of::<CrfDictionary>() == 0);
    assert!(CRF_STORAGE_ALIGN % align_of::<CrfSegmenter>() == 0);
    assert!(CRF_STORAGE_ALIGN % align_of::<CrfLabeler>() == 0);
};

#[cfg(all(target_os = "none", not(feature = "panic-handler")))]
compile_error!(
    "a bare-metal static library needs a panic handler: build crf-mcu-c with `--features panic-handler` \
     (the application then defines `void crf_mcu_panic(void)`; see capi/README.md)"
);
