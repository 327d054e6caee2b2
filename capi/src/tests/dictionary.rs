//! The user-dictionary calls: compiled from a word list, loaded from bytes, and given to a segmenter or
//! labeler, they segment exactly as the decoder's `Segmenter::with_rules` does; bad bytes and bad lines
//! get their statuses.

use core::ptr;
use std::{boxed::Box, vec, vec::Vec};

use decoder::{build_dictionary, Dictionary, Model, Segmenter, SpanRules};

use super::*;
use crate::CrfDictionary;

/// Words the default model splits in the sample (each is more than one of its output words there).
const WORDS: &str = "研究人员\n新闻发布会\n城市建设\n历史老师\n";

/// Compiles `list` through the C call; `Err((status, line, message))` when it refuses.
fn compile(list: &[u8]) -> Result<Vec<u8>, (CrfStatus, usize, &'static str)> {
    let (mut written, mut line, mut message) = (0usize, usize::MAX, ptr::null());
    // First ask for the size, as a C caller would.
    let status =
        crf_dictionary_compile(list.as_ptr(), list.len(), ptr::null_mut(), 0, &mut written, &mut line, &mut message);
    if status != CrfStatus::BufferTooSmall {
        return Err((status, line, message_text(message)));
    }
    assert_eq!(line, 0);
    let mut out = vec![0u8; written];
    let status = crf_dictionary_compile(
        list.as_ptr(),
        list.len(),
        out.as_mut_ptr(),
        out.len(),
        &mut written,
        &mut line,
        &mut message,
    );
    assert_eq!((status, written, message_text(message)), (CrfStatus::Ok, out.len(), "ok"));
    Ok(out)
}

/// Loads compiled bytes (leaked, as C keeps them alive) into `storage`.
fn load_dictionary(storage: &mut Storage, bytes: &[u8]) -> (CrfStatus, *const CrfDictionary, &'static str) {
    let bytes: &'static [u8] = Box::leak(bytes.to_vec().into_boxed_slice());
    let (mut dictionary, mut message) = (ptr::null(), ptr::null());
    let status = crf_dictionary_init(
        memory(storage),
        crf_dictionary_size(),
        bytes.as_ptr(),
        bytes.len(),
        &mut dictionary,
        &mut message,
    );
    (status, dictionary, message_text(message))
}

fn segment_with(model: *const CrfModel, dictionary: *const CrfDictionary, forced_spans: bool, text: &[u8]) -> Vec<u8> {
    let mut storage = new_storage();
    let mut segmenter = ptr::null_mut();
    let status = crf_segmenter_init_with_rules(
        memory(&mut storage),
        crf_segmenter_size(),
        model,
        dictionary,
        forced_spans,
        &mut segmenter,
    );
    assert_eq!(status, CrfStatus::Ok);
    let mut out = Vec::<u8>::new();
    let context = (&raw mut out).cast::<c_void>();
    // Two pushes, so that a word may straddle them.
    let (first, second) = text.split_at(text.len() / 2);
    assert_eq!(crf_segmenter_push(segmenter, first.as_ptr(), first.len(), Some(append), context), CrfStatus::Ok);
    assert_eq!(crf_segmenter_push(segmenter, second.as_ptr(), second.len(), Some(append), context), CrfStatus::Ok);
    assert_eq!(crf_segmenter_finish(segmenter, Some(append), context), CrfStatus::Ok);
    out
}

fn decoder_output(rules: SpanRules<'_>, text: &[u8]) -> Vec<u8> {
    let model = Model::from_bytes(MODEL_FILE).unwrap();
    let mut out = Vec::new();
    Segmenter::<{ decoder::DEFAULT_WINDOW }>::with_rules(&model, rules)
        .segment_all(text, |bytes| out.extend_from_slice(bytes));
    out
}

#[test]
fn a_dictionary_segments_the_sample_as_the_decoder_does_and_keeps_its_words_whole() {
    let compiled = compile(WORDS.as_bytes()).unwrap();
    assert_eq!(compiled, build_dictionary(WORDS.as_bytes()).unwrap());
    let mut model_storage = new_storage();
    let model = default_model(&mut model_storage);
    let mut dictionary_storage = new_storage();
    let (status, dictionary, message) = load_dictionary(&mut dictionary_storage, &compiled);
    assert_eq!((status, message), (CrfStatus::Ok, "ok"));
    let mut count = 0;
    assert_eq!(crf_dictionary_word_count(dictionary, &mut count), CrfStatus::Ok);
    assert_eq!(count, 4);

    let reference = Dictionary::from_bytes(&compiled).unwrap();
    for forced_spans in [true, false] {
        let with_words = segment_with(model, dictionary, forced_spans, SAMPLE.as_bytes());
        let expected = decoder_output(SpanRules { dictionary: Some(&reference), forced_spans }, SAMPLE.as_bytes());
        assert_eq!(with_words, expected);
        let without = segment_with(model, ptr::null(), forced_spans, SAMPLE.as_bytes());
        assert_ne!(with_words, without, "the dictionary changes the sample's segmentation");
        let text = std::string::String::from_utf8(with_words).unwrap();
        let words: Vec<&str> = text.split_whitespace().collect();
        for word in WORDS.lines() {
            assert!(SAMPLE.contains(word) && words.contains(&word), "{word} is kept whole");
        }
    }
    // With no dictionary and forced spans on, the rules segmenter is the plain one.
    let plain = Segmenter::segment_to_vec(&Model::from_bytes(MODEL_FILE).unwrap(), SAMPLE.as_bytes());
    assert_eq!(segment_with(model, ptr::null(), true, SAMPLE.as_bytes()), plain);
}

#[test]
fn the_labeler_with_a_dictionary_tags_as_the_segmenter_cuts() {
    let compiled = compile(WORDS.as_bytes()).unwrap();
    let mut model_storage = new_storage();
    let model = default_model(&mut model_storage);
    let mut dictionary_storage = new_storage();
    let (_, dictionary, _) = load_dictionary(&mut dictionary_storage, &compiled);
    let mut storage = new_storage();
    let mut labeler = ptr::null_mut();
    let status =
        crf_labeler_init_with_rules(memory(&mut storage), crf_labeler_size(), model, dictionary, true, &mut labeler);
    assert_eq!(status, CrfStatus::Ok);
    let text = "研究人员在实验室里测试了一种新的电池材料。";
    let mut tags = [0u8; 64];
    let mut count = 0;
    assert_eq!(
        crf_label_line(labeler, text.as_ptr(), text.len(), tags.as_mut_ptr(), tags.len(), &mut count),
        CrfStatus::Ok
    );
    // B M M E (tags 0..=3 of the default model are B, M, E, S) on the dictionary word.
    let name_of = |tag: u8| {
        let (mut name, mut len) = (ptr::null(), 0);
        assert_eq!(crf_model_tag_name(model, usize::from(tag), &mut name, &mut len), CrfStatus::Ok);
        // SAFETY: the API returned a pointer to `len` bytes of the model file.
        std::string::String::from_utf8(unsafe { core::slice::from_raw_parts(name.cast::<u8>(), len) }.to_vec()).unwrap()
    };
    let first: Vec<_> = tags[..4].iter().map(|&tag| name_of(tag)).collect();
    assert_eq!(first, ["B", "M", "M", "E"]);
}

#[test]
fn bad_dictionary_bytes_are_refused_with_the_failed_check() {
    let mut storage = new_storage();
    let (status, dictionary, message) = load_dictionary(&mut storage, b"CRFm not a dictionary");
    assert_eq!(status, CrfStatus::BadDictionary);
    assert!(dictionary.is_null());
    assert!(message.contains("too short"), "{message}");
    let mut compiled = compile(WORDS.as_bytes()).unwrap();
    let (status, _, message) = load_dictionary(&mut storage, &[b"CRFm".as_slice(), &compiled[4..]].concat());
    assert_eq!(status, CrfStatus::BadDictionary);
    assert!(message.contains("magic CRFd"), "{message}");
    let middle = compiled.len() / 2;
    compiled[middle] ^= 0x55;
    let (status, _, message) = load_dictionary(&mut storage, &compiled);
    assert_eq!(status, CrfStatus::BadDictionary);
    assert!(message.contains("CRC-32"), "{message}");
    // The memory holds no dictionary after the failed loads: a rules call refuses it.
    let mut model_storage = new_storage();
    let model = default_model(&mut model_storage);
    let mut segmenter_storage = new_storage();
    let mut segmenter = ptr::null_mut();
    let status = crf_segmenter_init_with_rules(
        memory(&mut segmenter_storage),
        crf_segmenter_size(),
        model,
        memory(&mut storage).cast(),
        true,
        &mut segmenter,
    );
    assert_eq!(status, CrfStatus::NotInitialized);
    assert!(segmenter.is_null());
    // Null pointers and small memory.
    let (mut out, mut message) = (ptr::null(), ptr::null());
    let good = build_dictionary(WORDS.as_bytes()).unwrap();
    let (bytes, len) = (good.as_ptr(), good.len());
    let base = memory(&mut storage);
    let size = crf_dictionary_size();
    assert_eq!(crf_dictionary_init(base, size - 1, bytes, len, &mut out, &mut message), CrfStatus::MemoryTooSmall);
    assert_eq!(message_text(message), CrfStatus::MemoryTooSmall.message().to_str().unwrap());
    assert_eq!(crf_dictionary_init(base, size, ptr::null(), len, &mut out, &mut message), CrfStatus::NullPointer);
    assert_eq!(crf_dictionary_init(base, size, bytes, len, ptr::null_mut(), ptr::null_mut()), CrfStatus::NullPointer);
    assert_eq!(crf_dictionary_word_count(ptr::null(), ptr::null_mut()), CrfStatus::NullPointer);
    assert!(out.is_null());
}

#[test]
fn a_bad_word_list_line_is_named() {
    assert_eq!(
        compile(b"\xe5\x8c\x97\xe4\xba\xac\n\xff\xfe\n").unwrap_err(),
        (CrfStatus::BadWordList, 2, "word list line is not valid UTF-8")
    );
    assert_eq!(
        compile("北京\n大学\n新 词\n".as_bytes()).unwrap_err(),
        (CrfStatus::BadWordList, 3, "word list line has white space inside a word")
    );
    assert_eq!(compile("北京\n\n".as_bytes()).unwrap_err().0, CrfStatus::BadWordList);
    let long = "字".repeat(33);
    assert_eq!(compile(long.as_bytes()).unwrap_err().1, 1);
    // Too small an output buffer says what it needs; null pointers get their code.
    let list = WORDS.as_bytes();
    let (mut written, mut out) = (0usize, [0u8; 8]);
    let status = crf_dictionary_compile(
        list.as_ptr(),
        list.len(),
        out.as_mut_ptr(),
        out.len(),
        &mut written,
        ptr::null_mut(),
        ptr::null_mut(),
    );
    assert_eq!((status, written), (CrfStatus::BufferTooSmall, build_dictionary(list).unwrap().len()));
    let status = crf_dictionary_compile(
        ptr::null(),
        3,
        out.as_mut_ptr(),
        out.len(),
        &mut written,
        ptr::null_mut(),
        ptr::null_mut(),
    );
    assert_eq!(status, CrfStatus::NullPointer);
    let status = crf_dictionary_compile(
        list.as_ptr(),
        list.len(),
        out.as_mut_ptr(),
        out.len(),
        ptr::null_mut(),
        ptr::null_mut(),
        ptr::null_mut(),
    );
    assert_eq!(status, CrfStatus::NullPointer);
}
