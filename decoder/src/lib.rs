//! A `no_std`, allocation-free, fixed-point CRF decoder for sequence labeling on microcontrollers.
//!
//! - [`Model::from_bytes`] borrows a model file (see [`format`] and `decoder/FORMAT.md`) from a byte slice
//!   (flash on a device), after checking magic, version, CRC-32 and every size.
//! - [`emission`] turns the characters around a position into one integer score per tag; [`lexicon`] is the
//!   word list some models carry, read by their lexicon templates.
//! - [`lattice`] runs Viterbi in `i32` with hard masking: a forbidden transition, start or end tag is never
//!   considered, whatever the scores.
//! - [`stream`] labels unbounded input in bounded memory, and [`segment`] turns it into segmented text.
//!
//! No `unsafe`, no allocation, no floating point in the decode path. Nothing here picks a logger or a
//! panic handler.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;

pub mod crc;
pub mod emission;
mod error;
pub mod features;
pub mod format;
pub mod lattice;
pub mod lexicon;
mod model;
pub mod segment;
pub mod stream;
pub mod tags;
pub mod text;

pub use error::{LatticeError, ModelError, Tensor};
pub use format::{FORMAT_VERSION, MAGIC};
pub use lattice::{label_chars, viterbi, TransitionScores};
pub use model::Model;
pub use segment::{Segmenter, DEFAULT_WINDOW};
pub use stream::{Event, Labeled, LineEnding, StreamLabeler};

/// Most tags a model may have (tag sets are `u16` bitmasks).
pub const MAX_TAGS: usize = 16;
/// Most feature templates a hashed n-gram model may have. With every weight within the i16 range this
/// keeps one position's emission score within `MAX_TEMPLATES * 2^15 = 2^20`.
pub const MAX_TEMPLATES: usize = 32;
/// Largest hash table: `2^24` rows.
pub const MAX_BUCKET_BITS: u8 = 24;
