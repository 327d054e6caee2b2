//! `Model::from_bytes` on arbitrary bytes, then whole-sequence labelling and streaming segmentation of
//! arbitrary input with every model that loads. See `check.rs` for the input layout and the properties.
#![no_main]

#[path = "../check.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::run(data));
