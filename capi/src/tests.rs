//! The exported C functions called as C calls them: status codes for every bad argument, and output
//! equal to the Rust decoder's.

use core::{
    ffi::{c_char, c_void, CStr},
    mem::{align_of, size_of},
    ptr,
};
use std::{boxed::Box, vec, vec::Vec};

use decoder::{Event, Model, Segmenter, StreamLabeler, DEFAULT_WINDOW};

use crate::{
    ffi::*, CrfModel, CrfSegmenter, CrfStatus, LabeledUnit, CRF_LABELER_STORAGE_BYTES, CRF_MODEL_STORAGE_BYTES,
    CRF_NEURAL_LABELER_STORAGE_BYTES, CRF_NEURAL_SEGMENTER_STORAGE_BYTES, CRF_SEGMENTER_STORAGE_BYTES,
    CRF_STORAGE_ALIGN,
};

static MODEL_FILE: &[u8] = include_bytes!("../../models/default.crfm");
const SAMPLE: &str = include_str!("../../tests/data/sample.utf8");

/// Caller memory as C would provide it: zeroed, aligned to `CRF_STORAGE_ALIGN`, as large as the
/// largest state of this build (the tests' decoder has the `neural` feature, so the segmenter is the
/// neural build's).
#[repr(C, align(8))]
struct Storage([u8; STORAGE_BYTES]);

const STORAGE_BYTES: usize = 8192;

const _: () = assert!(align_of::<Storage>() == CRF_STORAGE_ALIGN);
const _: () = assert!(size_of::<Storage>() >= CRF_SEGMENTER_STORAGE_BYTES);
const _: () = assert!(size_of::<Storage>() >= CRF_NEURAL_SEGMENTER_STORAGE_BYTES);
const _: () = assert!(size_of::<Storage>() >= CRF_NEURAL_LABELER_STORAGE_BYTES);
const _: () = assert!(size_of::<Storage>() >= CRF_LABELER_STORAGE_BYTES);
const _: () = assert!(size_of::<Storage>() >= CRF_MODEL_STORAGE_BYTES);

fn new_storage() -> Box<Storage> {
    Box::new(Storage([0; STORAGE_BYTES]))
}

fn memory(storage: &mut Storage) -> *mut c_void {
    storage.0.as_mut_ptr().cast()
}

fn message_text(message: *const c_char) -> &'static str {
    // SAFETY: the API only hands out pointers to static NUL-terminated strings.
    unsafe { CStr::from_ptr(message) }.to_str().unwrap()
}

fn load(storage: &mut Storage, bytes: &'static [u8]) -> (CrfStatus, *const CrfModel, &'static str) {
    let mut model = ptr::null();
    let mut message = ptr::null();
    let status =
        crf_model_init(memory(storage), size_of::<Storage>(), bytes.as_ptr(), bytes.len(), &mut model, &mut message);
    (status, model, message_text(message))
}

fn default_model(storage: &mut Storage) -> *const CrfModel {
    let (status, model, message) = load(storage, MODEL_FILE);
    assert_eq!((status, message), (CrfStatus::Ok, "ok"));
    model
}

unsafe extern "C" fn append(context: *mut c_void, bytes: *const u8, len: usize) {
    // SAFETY: the tests pass a `Vec<u8>` as context; the library passes `len` valid bytes.
    unsafe { (*context.cast::<Vec<u8>>()).extend_from_slice(core::slice::from_raw_parts(bytes, len)) }
}

unsafe extern "C" fn collect_unit(context: *mut c_void, unit: *const LabeledUnit) {
    // SAFETY: the tests pass a `Vec<LabeledUnit>` as context; the library passes a valid unit.
    unsafe { (*context.cast::<Vec<LabeledUnit>>()).push(*unit) }
}

#[test]
fn the_default_model_loads_with_its_tags() {
    let mut storage = new_storage();
    let model = default_model(&mut storage);
    let mut count = 0;
    assert_eq!(crf_model_tag_count(model, &mut count), CrfStatus::Ok);
    assert_eq!(count, 4);
    let mut names = Vec::new();
    for tag in 0..count {
        let (mut name, mut len) = (ptr::null(), 0);
        assert_eq!(crf_model_tag_name(model, tag, &mut name, &mut len), CrfStatus::Ok);
        // SAFETY: the API returned a pointer to `len` bytes of the model file.
        names.push(unsafe { core::slice::from_raw_parts(name.cast::<u8>(), len) }.to_vec());
    }
    assert_eq!(names, [b"B".to_vec(), b"M".to_vec(), b"E".to_vec(), b"S".to_vec()]);
    let (mut name, mut len) = (ptr::null(), 0);
    assert_eq!(crf_model_tag_name(model, 4, &mut name, &mut len), CrfStatus::NoSuchTag);
    assert_eq!(crf_model_tag_name(model, 0, ptr::null_mut(), &mut len), CrfStatus::NullPointer);
}

#[test]
fn bad_models_are_refused_with_the_failed_check() {
    let mut corrupt = MODEL_FILE.to_vec();
    corrupt[20] ^= 1;
    let corrupt: &'static [u8] = Box::leak(corrupt.into_boxed_slice());
    let mut storage = new_storage();
    let (status, model, message) = load(&mut storage, corrupt);
    assert_eq!(status, CrfStatus::BadModel);
    assert!(model.is_null());
    assert!(message.contains("CRC-32"), "{message}");

    let (status, _, message) = load(&mut storage, &MODEL_FILE[..3]);
    assert_eq!(status, CrfStatus::BadModel);
    assert!(message.contains("too short"), "{message}");
    let (status, _, message) = load(&mut storage, b"PK\x03\x04 a zip file, not a model");
    assert_eq!(status, CrfStatus::BadModel);
    assert!(message.contains("magic"), "{message}");
    // The memory was not initialised by the failed loads.
    let mut count = 0;
    assert_eq!(crf_model_tag_count(memory(&mut storage).cast(), &mut count), CrfStatus::NotInitialized);
}

#[test]
fn bad_memory_and_null_pointers_get_their_codes() {
    let mut storage = new_storage();
    let mut model = ptr::null();
    let (bytes, len) = (MODEL_FILE.as_ptr(), MODEL_FILE.len());
    let size = size_of::<Storage>();
    let base = memory(&mut storage);
    assert_eq!(crf_model_init(ptr::null_mut(), size, bytes, len, &mut model, ptr::null_mut()), CrfStatus::NullPointer);
    let misaligned = base.cast::<u8>().wrapping_add(1).cast::<c_void>();
    assert_eq!(crf_model_init(misaligned, size - 1, bytes, len, &mut model, ptr::null_mut()), CrfStatus::Misaligned);
    let small = crf_model_size() - 1;
    assert_eq!(crf_model_init(base, small, bytes, len, &mut model, ptr::null_mut()), CrfStatus::MemoryTooSmall);
    assert_eq!(crf_model_init(base, size, ptr::null(), len, &mut model, ptr::null_mut()), CrfStatus::NullPointer);
    assert_eq!(crf_model_init(base, size, bytes, len, ptr::null_mut(), ptr::null_mut()), CrfStatus::NullPointer);
    assert_eq!(crf_model_init(base, size, bytes, usize::MAX, &mut model, ptr::null_mut()), CrfStatus::InvalidLength);
    assert!(model.is_null());

    let model = default_model(&mut storage);
    let mut segmenter_storage = new_storage();
    let mut segmenter = ptr::null_mut();
    let segmenter_memory = memory(&mut segmenter_storage);
    let segmenter_size = crf_segmenter_size();
    assert_eq!(
        crf_segmenter_init(segmenter_memory, segmenter_size - 1, model, &mut segmenter),
        CrfStatus::MemoryTooSmall
    );
    assert_eq!(
        crf_segmenter_init(segmenter_memory, segmenter_size, ptr::null(), &mut segmenter),
        CrfStatus::NullPointer
    );
    // A state pointer that is no initialised segmenter: zeroed memory, or a model.
    let mut out = Vec::<u8>::new();
    let context = (&raw mut out).cast::<c_void>();
    let text = "我们".as_bytes();
    assert_eq!(
        crf_segmenter_push(segmenter_memory.cast(), text.as_ptr(), text.len(), Some(append), context),
        CrfStatus::NotInitialized
    );
    assert_eq!(
        crf_segmenter_push(model.cast_mut().cast(), text.as_ptr(), text.len(), Some(append), context),
        CrfStatus::NotInitialized
    );
    assert_eq!(crf_segmenter_init(segmenter_memory, segmenter_size, model, &mut segmenter), CrfStatus::Ok);
    assert_eq!(crf_segmenter_push(segmenter, text.as_ptr(), text.len(), None, context), CrfStatus::NullPointer);
    assert_eq!(crf_segmenter_push(segmenter, ptr::null(), 1, Some(append), context), CrfStatus::NullPointer);
    assert_eq!(crf_segmenter_push(ptr::null_mut(), text.as_ptr(), 1, Some(append), context), CrfStatus::NullPointer);
    let misaligned = segmenter.cast::<u8>().wrapping_add(4).cast::<CrfSegmenter>();
    assert_eq!(crf_segmenter_push(misaligned, text.as_ptr(), 1, Some(append), context), CrfStatus::Misaligned);
    assert_eq!(crf_segmenter_forced_cuts(segmenter, ptr::null_mut()), CrfStatus::NullPointer);
    let mut cut_words = [0u64; 2];
    let misaligned_count = cut_words.as_mut_ptr().cast::<u8>().wrapping_add(4).cast::<u64>();
    assert_eq!(crf_segmenter_forced_cuts(segmenter, misaligned_count), CrfStatus::Misaligned);
    assert_eq!(cut_words, [0, 0]);
    // Nothing was consumed by the refused calls; null with length 0 is an empty push.
    assert_eq!(crf_segmenter_push(segmenter, ptr::null(), 0, Some(append), context), CrfStatus::Ok);
    assert_eq!(crf_segmenter_push(segmenter, text.as_ptr(), text.len(), Some(append), context), CrfStatus::Ok);
    assert_eq!(crf_segmenter_finish(segmenter, Some(append), context), CrfStatus::Ok);
    assert_eq!(out, "我们\n".as_bytes());
}

#[test]
fn the_segmenter_writes_what_the_decoder_writes_for_any_split() {
    let mut model_storage = new_storage();
    let model = default_model(&mut model_storage);
    let expected = Segmenter::segment_to_vec(&Model::from_bytes(MODEL_FILE).unwrap(), SAMPLE.as_bytes());
    let mut segmenter_storage = new_storage();
    let mut segmenter = ptr::null_mut();
    let status = crf_segmenter_init(memory(&mut segmenter_storage), crf_segmenter_size(), model, &mut segmenter);
    assert_eq!(status, CrfStatus::Ok);
    // The same state segments one input after another.
    for piece_len in [1, 7, 128, SAMPLE.len()] {
        let mut out = Vec::<u8>::new();
        let context = (&raw mut out).cast::<c_void>();
        for piece in SAMPLE.as_bytes().chunks(piece_len) {
            assert_eq!(
                crf_segmenter_push(segmenter, piece.as_ptr(), piece.len(), Some(append), context),
                CrfStatus::Ok
            );
        }
        assert_eq!(crf_segmenter_finish(segmenter, Some(append), context), CrfStatus::Ok);
        assert!(out == expected, "pieces of {piece_len} bytes: {}", std::string::String::from_utf8_lossy(&out));
    }
    let mut cuts = u64::MAX;
    assert_eq!(crf_segmenter_forced_cuts(segmenter, &mut cuts), CrfStatus::Ok);
    assert_eq!(cuts, 0);
}

/// The tags `decoder::StreamLabeler` gives `text`, one per event as `crf_label_line` counts them.
fn decoder_tags(text: &[u8]) -> Vec<u8> {
    let model = Model::from_bytes(MODEL_FILE).unwrap();
    let mut labeler = StreamLabeler::<DEFAULT_WINDOW>::new(&model);
    let mut tags = Vec::new();
    let mut record = |event| match event {
        Event::Unit(unit) => tags.push(unit.tag.unwrap_or(crate::TAG_SEPARATOR)),
        Event::LineEnd(decoder::LineEnding::EndOfInput) => {}
        Event::LineEnd(_) => tags.push(crate::TAG_LINE_END),
    };
    labeler.push(text, &mut record);
    labeler.finish(&mut record);
    tags
}

#[test]
fn lines_are_labeled_into_the_callers_buffer_or_say_what_they_need() {
    let mut model_storage = new_storage();
    let model = default_model(&mut model_storage);
    let mut labeler_storage = new_storage();
    let mut labeler = ptr::null_mut();
    let status = crf_labeler_init(memory(&mut labeler_storage), crf_labeler_size(), model, &mut labeler);
    assert_eq!(status, CrfStatus::Ok);

    let text = "研究生命起源 ok\r\n北京".as_bytes();
    let expected = decoder_tags(text);
    // 6 characters, a space, 2 letters, CRLF, 2 characters.
    assert_eq!(expected.len(), 12);
    assert_eq!(expected[..6], [0, 2, 0, 2, 0, 2]); // B E B E B E
    assert_eq!(expected[6], crate::TAG_SEPARATOR);
    assert_eq!(expected[9], crate::TAG_LINE_END);

    let mut count = 0;
    assert_eq!(
        crf_label_line(labeler, text.as_ptr(), text.len(), ptr::null_mut(), 0, &mut count),
        CrfStatus::BufferTooSmall
    );
    assert_eq!(count, expected.len());
    let mut short = vec![0xAAu8; 5];
    let status = crf_label_line(labeler, text.as_ptr(), text.len(), short.as_mut_ptr(), short.len(), &mut count);
    assert_eq!((status, count), (CrfStatus::BufferTooSmall, expected.len()));
    assert_eq!(short, expected[..5]);
    let mut tags = vec![0u8; 64];
    let status = crf_label_line(labeler, text.as_ptr(), text.len(), tags.as_mut_ptr(), tags.len(), &mut count);
    assert_eq!((status, count), (CrfStatus::Ok, expected.len()));
    assert_eq!(tags[..count], expected[..]);
    assert_eq!(
        crf_label_line(labeler, text.as_ptr(), text.len(), tags.as_mut_ptr(), 64, ptr::null_mut()),
        CrfStatus::NullPointer
    );
}

#[test]
fn streamed_units_carry_the_input_bytes_and_block_line_labeling_until_finished() {
    let mut model_storage = new_storage();
    let model = default_model(&mut model_storage);
    let mut labeler_storage = new_storage();
    let mut labeler = ptr::null_mut();
    assert_eq!(crf_labeler_init(memory(&mut labeler_storage), crf_labeler_size(), model, &mut labeler), CrfStatus::Ok);

    let input = b"\xe6\x88\x91\xe4\xbb\xac\xff  x\r\n\xe5\x9c\xa8";
    let mut units = Vec::<LabeledUnit>::new();
    let context = (&raw mut units).cast::<c_void>();
    assert_eq!(crf_labeler_push(labeler, input.as_ptr(), input.len(), Some(collect_unit), context), CrfStatus::Ok);
    let mut count = 0;
    let mut tags = [0u8; 16];
    assert_eq!(crf_label_line(labeler, input.as_ptr(), 1, tags.as_mut_ptr(), 16, &mut count), CrfStatus::WrongPhase);
    assert_eq!(crf_labeler_finish(labeler, Some(collect_unit), context), CrfStatus::Ok);
    let bytes: Vec<u8> = units.iter().flat_map(|unit| unit.bytes[..usize::from(unit.len)].to_vec()).collect();
    assert_eq!(bytes, input);
    assert_eq!(units.iter().map(|unit| unit.tag).collect::<Vec<_>>(), decoder_tags(input));
    assert_eq!(units[2].codepoint, u32::from(char::REPLACEMENT_CHARACTER));
    assert_eq!(crf_label_line(labeler, input.as_ptr(), 1, tags.as_mut_ptr(), 16, &mut count), CrfStatus::Ok);
}

#[test]
fn whole_texts_are_segmented_into_the_callers_buffer_or_say_what_they_need() {
    let mut model_storage = new_storage();
    let model = default_model(&mut model_storage);
    let mut segmenter_storage = new_storage();
    let mut segmenter = ptr::null_mut();
    let status = crf_segmenter_init(memory(&mut segmenter_storage), crf_segmenter_size(), model, &mut segmenter);
    assert_eq!(status, CrfStatus::Ok);
    let text = SAMPLE.as_bytes();
    let expected = Segmenter::segment_to_vec(&Model::from_bytes(MODEL_FILE).unwrap(), text);

    let mut written = 0;
    let status = crf_segment_text(segmenter, text.as_ptr(), text.len(), ptr::null_mut(), 0, &mut written);
    assert_eq!((status, written), (CrfStatus::BufferTooSmall, expected.len()));
    let mut short = vec![0u8; 100];
    let status = crf_segment_text(segmenter, text.as_ptr(), text.len(), short.as_mut_ptr(), 100, &mut written);
    assert_eq!((status, written), (CrfStatus::BufferTooSmall, expected.len()));
    assert_eq!(short, expected[..100]);
    let mut out = vec![0u8; expected.len()];
    let status = crf_segment_text(segmenter, text.as_ptr(), text.len(), out.as_mut_ptr(), out.len(), &mut written);
    assert_eq!((status, written), (CrfStatus::Ok, expected.len()));
    assert!(out == expected);

    // Not while a stream is open.
    let mut streamed = Vec::<u8>::new();
    let context = (&raw mut streamed).cast::<c_void>();
    assert_eq!(crf_segmenter_push(segmenter, text.as_ptr(), 3, Some(append), context), CrfStatus::Ok);
    let status = crf_segment_text(segmenter, text.as_ptr(), text.len(), out.as_mut_ptr(), out.len(), &mut written);
    assert_eq!(status, CrfStatus::WrongPhase);
    assert_eq!(crf_segmenter_finish(segmenter, Some(append), context), CrfStatus::Ok);
    let status = crf_segment_text(segmenter, text.as_ptr(), text.len(), out.as_mut_ptr(), out.len(), ptr::null_mut());
    assert_eq!(status, CrfStatus::NullPointer);
}

#[test]
fn every_status_code_has_a_message() {
    assert_eq!(message_text(crf_status_message(CrfStatus::BadModel as i32)), "the bytes are not a usable model file");
    assert_eq!(message_text(crf_status_message(-7)), "unknown status code");
}

// The user dictionary and span rules.
mod dictionary;
