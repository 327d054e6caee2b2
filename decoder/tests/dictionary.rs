//! The user-dictionary file ("CRFd", `decoder/FORMAT.md`): exact bytes, word-list errors, and loading
//! arbitrary bytes without a panic.

use decoder::{build_dictionary, Dictionary, DictionaryError, WordListError, WordListErrorKind};
use proptest::prelude::*;

/// The dictionary of the words "ab" and "a", computed independently (Python: struct and zlib.crc32).
fn tiny() -> Vec<u8> {
    let mut b = Vec::new();
    // magic "CRFd", version 1, max word chars 2, 2 words, 3 nodes
    b.extend_from_slice(&[0x43, 0x52, 0x46, 0x64, 0x01, 0x00, 0x02, 0x00, 0x02, 0, 0, 0, 0x03, 0, 0, 0]);
    // root index, 512 u16: root edges below block b (characters 128b..): 'a' (97) is in block 0
    for block in 0..512 {
        b.extend_from_slice(&u16::to_le_bytes(if block == 0 { 0 } else { 1 }));
    }
    // child_start per node and one past: root 0..1, "a" 1..2, "ab" 2..2
    b.extend_from_slice(&[0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0]);
    // edge labels, u24 LE, bit 23 = ends a word: 'a', 'b'
    b.extend_from_slice(&[0x61, 0x00, 0x80, 0x62, 0x00, 0x80]);
    // CRC-32 of everything before it
    b.extend_from_slice(&[0x6f, 0x38, 0x2a, 0xe1]);
    b
}

#[test]
fn the_builder_writes_the_documented_bytes() {
    assert_eq!(build_dictionary(b"ab\na\n").unwrap(), tiny());
    assert_eq!(build_dictionary(b"a\r\nab\r\na").unwrap(), tiny(), "CRLF, repeats and no final newline");
    let d = Dictionary::from_bytes(&tiny()[..]).map(|d| (d.len(), d.max_word_chars()));
    assert_eq!(d, Ok((2, 2)));
}

#[test]
fn word_list_errors_name_the_line() {
    let error = |text: &[u8]| build_dictionary(text).unwrap_err();
    let at = |line, kind| WordListError { line, kind };
    assert_eq!(error(b"ok\n\xff\xfe\n"), at(2, WordListErrorKind::InvalidUtf8));
    assert_eq!(error(b"ok\n\nok\n"), at(2, WordListErrorKind::EmptyWord));
    assert_eq!(error(b"a\nb\nnew york\n"), at(3, WordListErrorKind::WhiteSpace));
    assert_eq!(error("中\u{3000}文".as_bytes()), at(1, WordListErrorKind::WhiteSpace));
    let long = "字".repeat(decoder::MAX_WORD_CHARS + 1);
    assert_eq!(error(long.as_bytes()), at(1, WordListErrorKind::TooLong { chars: decoder::MAX_WORD_CHARS + 1 }));
    assert!(build_dictionary("字".repeat(decoder::MAX_WORD_CHARS).as_bytes()).is_ok());
    assert_eq!(error(b"x\n\ty").to_string(), "line 2: white space inside a word");
}

#[test]
fn an_empty_word_list_gives_an_empty_dictionary() {
    let bytes = build_dictionary(b"").unwrap();
    let d = Dictionary::from_bytes(&bytes).unwrap();
    assert!(d.is_empty());
    assert_eq!(d.longest_prefix("abc".chars()), 0);
}

#[test]
fn load_errors_are_reported_in_order() {
    let good = tiny();
    assert_eq!(Dictionary::from_bytes(&good[..10]), Err(DictionaryError::TooShort { len: 10 }));
    let mut bad = good.clone();
    bad[3] = b'm';
    assert!(matches!(Dictionary::from_bytes(&bad), Err(DictionaryError::BadMagic { .. })));
    let mut bad = good.clone();
    bad[4] = 2;
    assert!(matches!(Dictionary::from_bytes(&bad), Err(DictionaryError::UnsupportedVersion { found: 2 })));
    let mut bad = good.clone();
    bad[530] ^= 1;
    assert!(matches!(Dictionary::from_bytes(&bad), Err(DictionaryError::BadChecksum { .. })));
    // Structural errors, with the CRC fixed up so that the structure is what fails.
    let with_crc = |mut b: Vec<u8>| {
        let n = b.len() - 4;
        let crc = decoder::internal::crc::crc32(&b[..n]);
        b[n..].copy_from_slice(&crc.to_le_bytes());
        b
    };
    let mut bad = good.clone();
    bad[6] = 33;
    assert!(matches!(Dictionary::from_bytes(&with_crc(bad)), Err(DictionaryError::BadMaxWordChars { found: 33 })));
    let mut bad = good.clone();
    bad[12] = 4;
    assert!(matches!(Dictionary::from_bytes(&with_crc(bad)), Err(DictionaryError::SizeMismatch { .. })));
    let mut bad = good.clone();
    bad[1056] = 0xE0; // the root's label 'à' (block 1) is outside its block's range
    assert_eq!(Dictionary::from_bytes(&with_crc(bad)), Err(DictionaryError::BadTrie));
    let mut bad = good.clone();
    bad[16 + 2 * 400] = 0; // the root index decreases
    assert_eq!(Dictionary::from_bytes(&with_crc(bad)), Err(DictionaryError::BadTrie));
    let mut bad = good.clone();
    bad[16 + 2 * 511] = 2; // the root index points past the root's edges
    assert_eq!(Dictionary::from_bytes(&with_crc(bad)), Err(DictionaryError::BadTrie));
    let mut bad = good.clone();
    bad[1061] = 0xC0; // a label with a reserved bit set
    assert_eq!(Dictionary::from_bytes(&with_crc(bad)), Err(DictionaryError::BadTrie));
    let mut bad = good;
    bad[1052] = 3; // the last child_start must be the edge count
    assert_eq!(Dictionary::from_bytes(&with_crc(bad)), Err(DictionaryError::BadTrie));
}

fn words() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec("[a-c中文字]{1,5}", 0..20)
}

proptest! {
    /// Every built dictionary holds exactly its words, and its longest-prefix look-ups agree with a
    /// naive search of the list.
    #[test]
    fn look_ups_match_the_word_list(list in words(), text in "[a-c中文字]{0,8}") {
        let bytes = build_dictionary(list.join("\n").as_bytes()).unwrap();
        let d = Dictionary::from_bytes(&bytes).unwrap();
        for word in &list {
            prop_assert!(d.contains(word));
        }
        let chars: Vec<char> = text.chars().collect();
        let naive = list.iter().map(|w| w.chars().collect::<Vec<_>>()).filter(|w| chars.starts_with(w)).map(|w| w.len()).max();
        prop_assert_eq!(d.longest_prefix(chars.iter().copied()), naive.unwrap_or(0));
    }

    /// Any bytes, and any single-byte change of a valid file (CRC fixed up), load or fail without a panic,
    /// and look-ups on whatever loads stay bounded.
    #[test]
    fn arbitrary_bytes_never_panic(list in words(), at in any::<prop::sample::Index>(), byte in any::<u8>(), junk in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = Dictionary::from_bytes(&junk);
        let mut bytes = build_dictionary(list.join("\n").as_bytes()).unwrap();
        let n = bytes.len() - 4;
        bytes[at.index(n)] = byte;
        let crc = decoder::internal::crc::crc32(&bytes[..n]);
        bytes[n..].copy_from_slice(&crc.to_le_bytes());
        if let Ok(d) = Dictionary::from_bytes(&bytes) {
            prop_assert!(d.longest_prefix("中文字abc中文字abc".chars()) <= d.max_word_chars());
        }
    }
}
