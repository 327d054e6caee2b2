//! The exported user-dictionary calls: load a compiled dictionary from caller bytes into caller memory,
//! make segmenters and labelers that keep its words whole, and (host builds) compile a word list.

use core::{
    ffi::{c_char, c_void},
    mem::{align_of, size_of},
};

use decoder::{Segmenter, SpanRules, StreamLabeler};

use super::{byte_slice, check_out, state_memory, state_ref, status, write_out, State};
use crate::{
    api::{CrfLabeler, CrfModel, CrfSegmenter, LABELER_MAGIC, SEGMENTER_MAGIC},
    dictionary::{dictionary_error_message, CrfDictionary, DICTIONARY_STATE_MAGIC},
    status::CrfStatus,
};

impl State for CrfDictionary {
    const MAGIC: u32 = DICTIONARY_STATE_MAGIC;
    fn magic_address(state: *const Self) -> *const u32 {
        // SAFETY: as for `CrfModel` in the parent module: a field address, nothing read.
        unsafe { &raw const (*state).magic }
    }
}

/// Writes `text` through `message` when the optional message pointer is usable.
fn set_message(message: *mut *const c_char, text: &'static core::ffi::CStr) {
    if !message.is_null() {
        // The message pointer is optional, so a null (or unusable) one is not an error.
        let _ = write_out(message, text.as_ptr());
    }
}

/// Bytes of memory a dictionary state needs (at most `CRF_DICTIONARY_STORAGE_BYTES`).
#[no_mangle]
pub extern "C" fn crf_dictionary_size() -> usize {
    size_of::<CrfDictionary>()
}

/// Alignment a dictionary state needs (divides `CRF_STORAGE_ALIGN`).
#[no_mangle]
pub extern "C" fn crf_dictionary_align() -> usize {
    align_of::<CrfDictionary>()
}

/// Checks the compiled user dictionary `dictionary_bytes[..dictionary_len]` (a "CRFd" file, from
/// `crf_dictionary_compile` or the trainer) and, if it is usable, initialises a dictionary state in `memory`
/// (`memory_size` bytes, aligned to `crf_dictionary_align()`) and sets `*dictionary`.
///
/// The bytes are not copied: keep them alive and unchanged while the dictionary, or any state made with
/// it, is used. `message` may be null; if not, it receives a static sentence: for
/// `CRF_STATUS_BAD_DICTIONARY` the check the bytes failed, otherwise the status's message.
#[no_mangle]
pub extern "C" fn crf_dictionary_init(
    memory: *mut c_void,
    memory_size: usize,
    dictionary_bytes: *const u8,
    dictionary_len: usize,
    dictionary: *mut *const CrfDictionary,
    message: *mut *const c_char,
) -> CrfStatus {
    let result = (|| {
        check_out(dictionary).map_err(|status| (status, status.message()))?;
        let state = state_memory::<CrfDictionary>(memory, memory_size).map_err(|status| (status, status.message()))?;
        let bytes: &'static [u8] =
            byte_slice(dictionary_bytes, dictionary_len).map_err(|status| (status, status.message()))?;
        let loaded =
            CrfDictionary::load(bytes).map_err(|error| (CrfStatus::BadDictionary, dictionary_error_message(&error)))?;
        // SAFETY: `state_memory` checked that `state` is non-null, aligned and large enough; the caller gives
        // this memory to the library for the state.
        unsafe { state.write(loaded) };
        write_out(dictionary, state.cast_const()).map_err(|status| (status, status.message()))
    })();
    let (result, text) = match result {
        Ok(()) => (CrfStatus::Ok, CrfStatus::Ok.message()),
        Err(failure) => failure,
    };
    set_message(message, text);
    result
}

/// Sets `*count` to the number of words in the dictionary.
#[no_mangle]
pub extern "C" fn crf_dictionary_word_count(dictionary: *const CrfDictionary, count: *mut usize) -> CrfStatus {
    status(state_ref(dictionary).and_then(|dictionary| write_out(count, dictionary.word_count())))
}

/// The span rules for an optional dictionary pointer (null: none) and the forced-spans flag.
fn rules(dictionary: *const CrfDictionary, forced_spans: bool) -> Result<SpanRules<'static>, CrfStatus> {
    let dictionary = if dictionary.is_null() {
        None
    } else {
        // 'static: the C caller keeps the dictionary state (and its bytes) alive while states using it are.
        let state: &'static CrfDictionary = state_ref(dictionary)?;
        Some(state.dictionary())
    };
    Ok(SpanRules { dictionary, forced_spans })
}

/// `crf_segmenter_init` with span rules: every occurrence of a word of `dictionary` (may be null: none;
/// leftmost-longest, non-overlapping) comes out as one word, and with `forced_spans` URLs, e-mail addresses
/// and numbers stay whole (`crf_segmenter_init` is this with no dictionary and `forced_spans` true). The
/// dictionary must outlive the segmenter.
#[no_mangle]
pub extern "C" fn crf_segmenter_init_with_rules(
    memory: *mut c_void,
    memory_size: usize,
    model: *const CrfModel,
    dictionary: *const CrfDictionary,
    forced_spans: bool,
    segmenter: *mut *mut CrfSegmenter,
) -> CrfStatus {
    status((|| {
        let model = state_ref(model)?;
        let rules = rules(dictionary, forced_spans)?;
        check_out(segmenter)?;
        let state = state_memory::<CrfSegmenter>(memory, memory_size)?;
        // SAFETY: as in `crf_segmenter_init`: field by field, in place, the tag word last.
        unsafe {
            (&raw mut (*state).segmenter).write(Segmenter::with_rules(model.model(), rules));
            (&raw mut (*state).streaming).write(false);
            (&raw mut (*state).magic).write(SEGMENTER_MAGIC);
        }
        write_out(segmenter, state)
    })())
}

/// `crf_labeler_init` with span rules, as in `crf_segmenter_init_with_rules` (`crf_labeler_init` is this
/// with no dictionary and `forced_spans` false). The dictionary must outlive the labeler.
#[no_mangle]
pub extern "C" fn crf_labeler_init_with_rules(
    memory: *mut c_void,
    memory_size: usize,
    model: *const CrfModel,
    dictionary: *const CrfDictionary,
    forced_spans: bool,
    labeler: *mut *mut CrfLabeler,
) -> CrfStatus {
    status((|| {
        let model = state_ref(model)?;
        let rules = rules(dictionary, forced_spans)?;
        check_out(labeler)?;
        let state = state_memory::<CrfLabeler>(memory, memory_size)?;
        // SAFETY: as in `crf_segmenter_init`: field by field, in place, the tag word last.
        unsafe {
            (&raw mut (*state).labeler).write(StreamLabeler::with_rules(model.model(), rules));
            (&raw mut (*state).streaming).write(false);
            (&raw mut (*state).magic).write(LABELER_MAGIC);
        }
        write_out(labeler, state)
    })())
}

/// Host builds only (it allocates while building): compiles a word list `word_list[..len]` (one word per
/// line, UTF-8, `\n` or `\r\n`, no white space inside a word, at most 32 characters) into a "CRFd"
/// dictionary in `out[..capacity]` and sets `*written` to its size, for `crf_dictionary_init` or for
/// storing in flash.
///
/// If it does not fit, returns `CRF_STATUS_BUFFER_TOO_SMALL` with `*written` set to the bytes needed
/// (`out` may be null if `capacity` is 0, to ask for the size). A bad line gives
/// `CRF_STATUS_BAD_WORD_LIST` with `*line` (may be null) set to its 1-based number and `*message` (may be
/// null) to what is wrong with it; `*line` is 0 when no line is at fault.
#[cfg(not(target_os = "none"))]
#[no_mangle]
pub extern "C" fn crf_dictionary_compile(
    word_list: *const u8,
    len: usize,
    out: *mut u8,
    capacity: usize,
    written: *mut usize,
    line: *mut usize,
    message: *mut *const c_char,
) -> CrfStatus {
    let mut bad_line = 0usize;
    let result = (|| {
        let words = byte_slice(word_list, len).map_err(|status| (status, status.message()))?;
        let out = super::byte_slice_mut(out, capacity).map_err(|status| (status, status.message()))?;
        check_out(written).map_err(|status| (status, status.message()))?;
        let compiled = decoder::build_dictionary(words).map_err(|error| {
            bad_line = error.line;
            (CrfStatus::BadWordList, crate::dictionary::word_list_error_message(&error.kind))
        })?;
        write_out(written, compiled.len()).map_err(|status| (status, status.message()))?;
        let destination =
            out.get_mut(..compiled.len()).ok_or((CrfStatus::BufferTooSmall, CrfStatus::BufferTooSmall.message()))?;
        destination.copy_from_slice(&compiled);
        Ok(())
    })();
    let (result, text) = match result {
        Ok(()) => (CrfStatus::Ok, CrfStatus::Ok.message()),
        Err(failure) => failure,
    };
    if !line.is_null() {
        let _ = write_out(line, bad_line);
    }
    set_message(message, text);
    result
}
