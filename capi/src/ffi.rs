//! The exported `extern "C"` functions: the crate's only `unsafe` code.
//!
//! Each function checks its pointers (null, alignment, a state's tag word, lengths) with the helpers at
//! the top, turns them into references and slices, and hands over to the safe `api`. What the helpers
//! cannot check is the C caller's side of the contract, stated in the header: pointers point at memory of
//! the given length that stays valid for the call (model bytes: for as long as the model is used), state
//! memory is not used by anything else meanwhile, and callbacks do not call back into the same state.

use core::{
    ffi::{c_char, c_void},
    mem::{align_of, size_of},
};

use decoder::{Segmenter, StreamLabeler};

use crate::{
    api::{CrfLabeler, CrfModel, CrfSegmenter, LabeledUnit, OneShotError, LABELER_MAGIC, MODEL_MAGIC, SEGMENTER_MAGIC},
    status::{model_error_message, CrfStatus, UNKNOWN_STATUS_MESSAGE},
};

/// Receives output bytes: `bytes[..len]`, valid only during the call.
pub type CrfWriteFn = Option<unsafe extern "C" fn(context: *mut c_void, bytes: *const u8, len: usize)>;

/// Receives one labeled unit, valid only during the call.
pub type CrfUnitFn = Option<unsafe extern "C" fn(context: *mut c_void, unit: *const LabeledUnit)>;

/// A state kept in caller memory, recognised by its leading tag word.
trait State: Sized {
    const MAGIC: u32;
    /// The address of the tag word inside the state at `state` (no read).
    fn magic_address(state: *const Self) -> *const u32;
}

impl State for CrfModel {
    const MAGIC: u32 = MODEL_MAGIC;
    fn magic_address(state: *const Self) -> *const u32 {
        // SAFETY: only computes a field address (`&raw const` reads nothing); the caller checked that
        // `state` is non-null and aligned, and it points at memory the C caller provided for a state.
        unsafe { &raw const (*state).magic }
    }
}

impl State for CrfSegmenter {
    const MAGIC: u32 = SEGMENTER_MAGIC;
    fn magic_address(state: *const Self) -> *const u32 {
        // SAFETY: as for `CrfModel`.
        unsafe { &raw const (*state).magic }
    }
}

impl State for CrfLabeler {
    const MAGIC: u32 = LABELER_MAGIC;
    fn magic_address(state: *const Self) -> *const u32 {
        // SAFETY: as for `CrfModel`.
        unsafe { &raw const (*state).magic }
    }
}

/// Checks caller memory offered for a state `T`: non-null, aligned, at least `size_of::<T>()` bytes.
fn state_memory<T>(memory: *mut c_void, memory_size: usize) -> Result<*mut T, CrfStatus> {
    if memory.is_null() {
        return Err(CrfStatus::NullPointer);
    }
    if (memory as usize) % align_of::<T>() != 0 {
        return Err(CrfStatus::Misaligned);
    }
    if memory_size < size_of::<T>() {
        return Err(CrfStatus::MemoryTooSmall);
    }
    Ok(memory.cast())
}

/// Checks a state pointer (non-null, aligned, initialised as a `T`) and returns its address.
fn checked_state<T: State>(state: *const T) -> Result<*const T, CrfStatus> {
    if state.is_null() {
        return Err(CrfStatus::NullPointer);
    }
    if (state as usize) % align_of::<T>() != 0 {
        return Err(CrfStatus::Misaligned);
    }
    // SAFETY: `state` is non-null and aligned, and the C caller passed it as a state of this kind, so at
    // least the tag word is readable memory. An unaligned read is not needed: `T` and so its first field
    // are aligned.
    let magic = unsafe { T::magic_address(state).read() };
    if magic != T::MAGIC {
        return Err(CrfStatus::NotInitialized);
    }
    Ok(state)
}

/// A shared reference to an initialised state.
fn state_ref<'a, T: State>(state: *const T) -> Result<&'a T, CrfStatus> {
    let state = checked_state(state)?;
    // SAFETY: non-null, aligned and tagged as an initialised `T` (only `*_init` writes the tag, together
    // with the rest of the state); the caller does not mutate it during the call.
    Ok(unsafe { &*state })
}

/// An exclusive reference to an initialised state.
fn state_mut<'a, T: State>(state: *mut T) -> Result<&'a mut T, CrfStatus> {
    let state = checked_state(state.cast_const())?.cast_mut();
    // SAFETY: as in `state_ref`; the caller does not use the state elsewhere during the call.
    Ok(unsafe { &mut *state })
}

/// The bytes `bytes[..len]`; a null pointer is allowed only with `len == 0`.
fn byte_slice<'a>(bytes: *const u8, len: usize) -> Result<&'a [u8], CrfStatus> {
    if len == 0 {
        return Ok(&[]);
    }
    if bytes.is_null() {
        return Err(CrfStatus::NullPointer);
    }
    if len > isize::MAX as usize {
        return Err(CrfStatus::InvalidLength);
    }
    // SAFETY: non-null, `len` within `isize::MAX`, and the caller guarantees `len` readable bytes that
    // stay unchanged during the call (for model bytes: while the model is used). `u8` needs no alignment.
    Ok(unsafe { core::slice::from_raw_parts(bytes, len) })
}

/// The mutable bytes `bytes[..len]`; a null pointer is allowed only with `len == 0`.
fn byte_slice_mut<'a>(bytes: *mut u8, len: usize) -> Result<&'a mut [u8], CrfStatus> {
    if len == 0 {
        return Ok(&mut []);
    }
    if bytes.is_null() {
        return Err(CrfStatus::NullPointer);
    }
    if len > isize::MAX as usize {
        return Err(CrfStatus::InvalidLength);
    }
    // SAFETY: as in `byte_slice`, for `len` writable bytes nothing else accesses during the call.
    Ok(unsafe { core::slice::from_raw_parts_mut(bytes, len) })
}

/// Checks an output pointer: non-null and aligned for a `T`.
fn check_out<T>(out: *mut T) -> Result<(), CrfStatus> {
    if out.is_null() {
        return Err(CrfStatus::NullPointer);
    }
    if (out as usize) % align_of::<T>() != 0 {
        return Err(CrfStatus::Misaligned);
    }
    Ok(())
}

/// Writes `value` through `out`, if it is not null and aligned.
fn write_out<T>(out: *mut T, value: T) -> Result<(), CrfStatus> {
    check_out(out)?;
    // SAFETY: non-null and aligned; the caller passes a pointer to writable memory for a `T`.
    unsafe { out.write(value) };
    Ok(())
}

/// The status of a result.
fn status(result: Result<(), CrfStatus>) -> CrfStatus {
    result.err().unwrap_or(CrfStatus::Ok)
}

/// A static, NUL-terminated sentence for a status code (also for codes that are no status).
#[no_mangle]
pub extern "C" fn crf_status_message(status: i32) -> *const c_char {
    CrfStatus::from_code(status).map_or(UNKNOWN_STATUS_MESSAGE, CrfStatus::message).as_ptr()
}

/// Bytes of memory a model state needs (at most `CRF_MODEL_STORAGE_BYTES`).
#[no_mangle]
pub extern "C" fn crf_model_size() -> usize {
    size_of::<CrfModel>()
}

/// Alignment a model state needs (divides `CRF_STORAGE_ALIGN`).
#[no_mangle]
pub extern "C" fn crf_model_align() -> usize {
    align_of::<CrfModel>()
}

/// Checks the model file `model_bytes[..model_len]` and, if it is usable, initialises a model state in
/// `memory` (`memory_size` bytes, aligned to `crf_model_align()`) and sets `*model`.
///
/// The model bytes are not copied: keep them alive and unchanged while the model, or any segmenter or
/// labeler made from it, is used (on a device: a `const` array in flash). `message` may be null; if not,
/// it receives a static sentence: for `CRF_STATUS_BAD_MODEL` the check the file failed, otherwise the
/// status's message.
#[no_mangle]
pub extern "C" fn crf_model_init(
    memory: *mut c_void,
    memory_size: usize,
    model_bytes: *const u8,
    model_len: usize,
    model: *mut *const CrfModel,
    message: *mut *const c_char,
) -> CrfStatus {
    let (result, text) = match init_model(memory, memory_size, model_bytes, model_len, model) {
        Ok(()) => (CrfStatus::Ok, CrfStatus::Ok.message()),
        Err(ModelInit::Status(status)) => (status, status.message()),
        Err(ModelInit::Rejected(error)) => (CrfStatus::BadModel, model_error_message(&error)),
    };
    if !message.is_null() {
        // The message pointer is optional, so a null one is not an error.
        let _ = write_out(message, text.as_ptr());
    }
    result
}

/// Why a model was not initialised.
enum ModelInit {
    Status(CrfStatus),
    Rejected(decoder::ModelError),
}

impl From<CrfStatus> for ModelInit {
    fn from(status: CrfStatus) -> Self {
        Self::Status(status)
    }
}

fn init_model(
    memory: *mut c_void,
    memory_size: usize,
    model_bytes: *const u8,
    model_len: usize,
    model: *mut *const CrfModel,
) -> Result<(), ModelInit> {
    check_out(model)?;
    let state = state_memory::<CrfModel>(memory, memory_size)?;
    let bytes: &'static [u8] = byte_slice(model_bytes, model_len)?;
    let loaded = CrfModel::load(bytes).map_err(ModelInit::Rejected)?;
    // SAFETY: `state_memory` checked that `state` is non-null, aligned and large enough; the caller gives
    // this memory to the library for the state.
    unsafe { state.write(loaded) };
    write_out(model, state.cast_const())?;
    Ok(())
}

/// Sets `*count` to the model's number of tags (1..=16).
#[no_mangle]
pub extern "C" fn crf_model_tag_count(model: *const CrfModel, count: *mut usize) -> CrfStatus {
    status(state_ref(model).and_then(|model| write_out(count, model.tag_count())))
}

/// Sets `*name` and `*name_len` to tag `tag`'s name (e.g. "B"): ASCII, not NUL-terminated, valid as long as
/// the model bytes are. `CRF_STATUS_NO_SUCH_TAG` if `tag` is not below the tag count.
#[no_mangle]
pub extern "C" fn crf_model_tag_name(
    model: *const CrfModel,
    tag: usize,
    name: *mut *const c_char,
    name_len: *mut usize,
) -> CrfStatus {
    status((|| {
        let model = state_ref(model)?;
        check_out(name)?;
        check_out(name_len)?;
        let text = model.tag_name(tag).ok_or(CrfStatus::NoSuchTag)?;
        write_out(name, text.as_ptr().cast::<c_char>())?;
        write_out(name_len, text.len())
    })())
}

/// Bytes of memory a segmenter state needs (at most `CRF_SEGMENTER_STORAGE_BYTES`).
#[no_mangle]
pub extern "C" fn crf_segmenter_size() -> usize {
    size_of::<CrfSegmenter>()
}

/// Alignment a segmenter state needs (divides `CRF_STORAGE_ALIGN`).
#[no_mangle]
pub extern "C" fn crf_segmenter_align() -> usize {
    align_of::<CrfSegmenter>()
}

/// Initialises a word segmenter for `model` in `memory` (`memory_size` bytes, aligned to
/// `crf_segmenter_align()`) and sets `*segmenter`. It writes each line's words two spaces apart, then `\n`,
/// byte for byte as the Rust firmware and `trainer segment` do.
#[no_mangle]
pub extern "C" fn crf_segmenter_init(
    memory: *mut c_void,
    memory_size: usize,
    model: *const CrfModel,
    segmenter: *mut *mut CrfSegmenter,
) -> CrfStatus {
    status((|| {
        let model = state_ref(model)?;
        check_out(segmenter)?;
        let state = state_memory::<CrfSegmenter>(memory, memory_size)?;
        // Field by field, the tag word last: the tag marks a complete state, and no `CrfSegmenter`
        // temporary is added to the ones `Segmenter::new` makes on the stack.
        // SAFETY: checked non-null, aligned and large enough by `state_memory`; the fields are written
        // through raw pointers, so no reference to the uninitialised state is made.
        unsafe {
            (&raw mut (*state).segmenter).write(Segmenter::new(model.model()));
            (&raw mut (*state).streaming).write(false);
            (&raw mut (*state).magic).write(SEGMENTER_MAGIC);
        }
        write_out(segmenter, state)
    })())
}

/// Calls a C write callback with `bytes`.
fn call_write(write: unsafe extern "C" fn(*mut c_void, *const u8, usize), context: *mut c_void, bytes: &[u8]) {
    // SAFETY: the C caller supplied `write` for exactly this call signature; `bytes` is valid for the call.
    unsafe { write(context, bytes.as_ptr(), bytes.len()) }
}

/// Feeds `bytes[..len]` (any split of the input gives the same output); `write(context, out, out_len)`
/// receives the output bytes as they become final, in pieces of at most 128 bytes. `bytes` may be null
/// if `len` is 0. `write` must not call back into this segmenter.
#[no_mangle]
pub extern "C" fn crf_segmenter_push(
    segmenter: *mut CrfSegmenter,
    bytes: *const u8,
    len: usize,
    write: CrfWriteFn,
    context: *mut c_void,
) -> CrfStatus {
    status((|| {
        let segmenter = state_mut(segmenter)?;
        let input = byte_slice(bytes, len)?;
        let write = write.ok_or(CrfStatus::NullPointer)?;
        segmenter.push(input, |out| call_write(write, context, out));
        Ok(())
    })())
}

/// Ends the input: writes the rest, ending the last line with `\n` if it had none. The segmenter is then
/// ready for a new input.
#[no_mangle]
pub extern "C" fn crf_segmenter_finish(
    segmenter: *mut CrfSegmenter,
    write: CrfWriteFn,
    context: *mut c_void,
) -> CrfStatus {
    status((|| {
        let segmenter = state_mut(segmenter)?;
        let write = write.ok_or(CrfStatus::NullPointer)?;
        segmenter.finish(|out| call_write(write, context, out));
        Ok(())
    })())
}

/// Segments `text[..len]` as one whole input into `out[..capacity]` (words two spaces apart, each line
/// ending in `\n`, as `crf_segmenter_push` and `crf_segmenter_finish` would write them) and sets
/// `*written` to the number of bytes.
///
/// If the output does not fit, returns `CRF_STATUS_BUFFER_TOO_SMALL` with `*written` set to the bytes
/// needed (`out` keeps the first `capacity`; `out` may be null if `capacity` is 0, to ask for the size).
/// `CRF_STATUS_WRONG_PHASE` while a `crf_segmenter_push` stream is open.
#[no_mangle]
pub extern "C" fn crf_segment_text(
    segmenter: *mut CrfSegmenter,
    text: *const u8,
    len: usize,
    out: *mut u8,
    capacity: usize,
    written: *mut usize,
) -> CrfStatus {
    status((|| {
        let segmenter = state_mut(segmenter)?;
        let text = byte_slice(text, len)?;
        let out = byte_slice_mut(out, capacity)?;
        check_out(written)?;
        match segmenter.segment_text(text, out) {
            Ok(count) => write_out(written, count),
            Err(OneShotError::TooSmall { needed }) => {
                write_out(written, needed)?;
                Err(CrfStatus::BufferTooSmall)
            }
            Err(OneShotError::StreamOpen) => Err(CrfStatus::WrongPhase),
        }
    })())
}

/// Sets `*count` to the number of forced cuts so far: runs without white space longer than the window
/// (256 characters), the only case in which output may differ from whole-line Viterbi.
#[no_mangle]
pub extern "C" fn crf_segmenter_forced_cuts(segmenter: *const CrfSegmenter, count: *mut u64) -> CrfStatus {
    status(state_ref(segmenter).and_then(|segmenter| write_out(count, segmenter.forced_cuts())))
}

/// Bytes of memory a labeler state needs (at most `CRF_LABELER_STORAGE_BYTES`).
#[no_mangle]
pub extern "C" fn crf_labeler_size() -> usize {
    size_of::<CrfLabeler>()
}

/// Alignment a labeler state needs (divides `CRF_STORAGE_ALIGN`).
#[no_mangle]
pub extern "C" fn crf_labeler_align() -> usize {
    align_of::<CrfLabeler>()
}

/// Initialises a labeler for `model` in `memory` (`memory_size` bytes, aligned to `crf_labeler_align()`)
/// and sets `*labeler`.
#[no_mangle]
pub extern "C" fn crf_labeler_init(
    memory: *mut c_void,
    memory_size: usize,
    model: *const CrfModel,
    labeler: *mut *mut CrfLabeler,
) -> CrfStatus {
    status((|| {
        let model = state_ref(model)?;
        check_out(labeler)?;
        let state = state_memory::<CrfLabeler>(memory, memory_size)?;
        // SAFETY: as in `crf_segmenter_init`: field by field, in place, the tag word last.
        unsafe {
            (&raw mut (*state).labeler).write(StreamLabeler::new(model.model()));
            (&raw mut (*state).streaming).write(false);
            (&raw mut (*state).magic).write(LABELER_MAGIC);
        }
        write_out(labeler, state)
    })())
}

/// Calls a C unit callback with `unit`.
fn call_unit(on_unit: unsafe extern "C" fn(*mut c_void, *const LabeledUnit), context: *mut c_void, unit: &LabeledUnit) {
    // SAFETY: the C caller supplied `on_unit` for exactly this call signature; `unit` is valid for the call.
    unsafe { on_unit(context, unit) }
}

/// Feeds `bytes[..len]`; `on_unit(context, unit)` receives every unit whose tag is final, in input order:
/// characters with their tag, separators (`CRF_TAG_SEPARATOR`) and line endings (`CRF_TAG_LINE_END`).
/// `on_unit` must not call back into this labeler.
#[no_mangle]
pub extern "C" fn crf_labeler_push(
    labeler: *mut CrfLabeler,
    bytes: *const u8,
    len: usize,
    on_unit: CrfUnitFn,
    context: *mut c_void,
) -> CrfStatus {
    status((|| {
        let labeler = state_mut(labeler)?;
        let input = byte_slice(bytes, len)?;
        let on_unit = on_unit.ok_or(CrfStatus::NullPointer)?;
        labeler.push(input, |unit| call_unit(on_unit, context, unit));
        Ok(())
    })())
}

/// Ends the input: reports the remaining units. The labeler is then ready for a new input.
#[no_mangle]
pub extern "C" fn crf_labeler_finish(labeler: *mut CrfLabeler, on_unit: CrfUnitFn, context: *mut c_void) -> CrfStatus {
    status((|| {
        let labeler = state_mut(labeler)?;
        let on_unit = on_unit.ok_or(CrfStatus::NullPointer)?;
        labeler.finish(|unit| call_unit(on_unit, context, unit));
        Ok(())
    })())
}

/// Labels `text[..len]` as one whole input: `tags[i]` receives the tag of its `i`-th unit (each
/// character, separator and invalid byte sequence, and each line ending inside the text, tagged as in
/// `crf_unit`), and `*count` the number of units. Name the tags with `crf_model_tag_name`.
///
/// If the units do not fit in `capacity` entries, returns `CRF_STATUS_BUFFER_TOO_SMALL` with `*count` set to
/// the entries needed (`tags` keeps the first `capacity`; `tags` may be null if `capacity` is 0, to ask
/// for the size). `CRF_STATUS_WRONG_PHASE` while a `crf_labeler_push` stream is open.
#[no_mangle]
pub extern "C" fn crf_label_line(
    labeler: *mut CrfLabeler,
    text: *const u8,
    len: usize,
    tags: *mut u8,
    capacity: usize,
    count: *mut usize,
) -> CrfStatus {
    status((|| {
        let labeler = state_mut(labeler)?;
        let text = byte_slice(text, len)?;
        let tags = byte_slice_mut(tags, capacity)?;
        check_out(count)?;
        match labeler.label_line(text, tags) {
            Ok(written) => write_out(count, written),
            Err(OneShotError::TooSmall { needed }) => {
                write_out(count, needed)?;
                Err(CrfStatus::BufferTooSmall)
            }
            Err(OneShotError::StreamOpen) => Err(CrfStatus::WrongPhase),
        }
    })())
}

// The user dictionary and span rules: same pattern, state in caller memory, every pointer checked by the
// helpers above.
mod dictionary;
#[cfg(test)]
pub use dictionary::*;

/// With feature `panic-handler` (bare-metal builds): a panic calls the application's
/// `void crf_mcu_panic(void)`. No call of the API panics; the handler is referenced only by the decoder's
/// bounds checks that the compiler cannot prove away.
#[cfg(all(feature = "panic-handler", target_os = "none"))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    extern "C" {
        fn crf_mcu_panic();
    }
    // SAFETY: a plain C function without arguments that the application defines (see the header).
    unsafe { crf_mcu_panic() };
    // In case the application's handler returns.
    loop {
        core::hint::spin_loop();
    }
}
