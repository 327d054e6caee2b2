//! **For the trainer of this workspace; no stability promise.** The pieces behind the public API: the
//! model file format and its writer, feature templates and hashing, the word list, the lattice, tag
//! schemes, text normalisation and CRC-32. The trainer computes its features and writes its models
//! through these, so both sides agree bit for bit. Anything here may change in any release; an
//! application needs only the crate root.

use crate::emission::HashedNgram;
use crate::format::ModelBody;
use crate::model::Model;
use crate::tags::Constraints;

/// The model file format, defined once: `encode` (feature `alloc`) writes it, [`crate::Model::from_bytes`]
/// reads it. `decoder/FORMAT.md` is the prose specification.
pub mod format {
    pub use crate::format::*;
}

/// Feature templates (with the one table of template kinds), the window geometry, and the hashes that map
/// a feature to a row of the weight table.
pub mod features {
    pub use crate::features::{
        template_hashes, KindInfo, Template, TemplateKind, AFTER_END, BEFORE_START, DEFAULT_TEMPLATES, TEMPLATE_BYTES,
        TEMPLATE_KINDS, WINDOW,
    };
    pub use crate::hash::{bucket, feature_hashes, row, second_hash};
    pub use crate::limits::MAX_OFFSET;
}

/// Token-level models: CRF++-style templates over token columns, their expansion and hashes.
#[cfg(feature = "tokens")]
pub mod tokens {
    pub use crate::tokens::*;
}

/// The word list of lexicon models: word hashes, the stored list and its index.
pub mod lexicon {
    pub use crate::lexicon::*;
}

/// The hashed n-gram emission model a [`crate::Model`] reads (see [`ModelInternals::ngram`]).
pub mod emission {
    pub use crate::emission::HashedNgram;
    #[cfg(feature = "neural")]
    pub use crate::emission::HybridTable;
}

/// The neural emission model: its integer inference's building blocks, shared with the trainer's
/// exporter and float reference.
#[cfg(feature = "neural")]
pub mod neural {
    pub use crate::neural::{conv_reach, multiply_by_quantized_multiplier, ngram_bucket, vocabulary_row, Neural};
}

/// Viterbi with hard masking on caller-supplied scores, and its buffer sizes and score bounds.
pub mod lattice {
    #[cfg(feature = "tokens")]
    pub use crate::lattice::label_tokens;
    #[cfg(feature = "wide-tags")]
    pub use crate::lattice::viterbi_wide;
    pub use crate::lattice::{
        backpointer_bits, backpointer_bytes, label_chars, max_spread, row_bytes, viterbi, TransitionScores,
        MAX_EMISSION, MAX_EXPONENT, MAX_SPREAD,
    };
}

/// Tag schemes, the hard constraints they imply, and tag roles.
pub mod tags {
    pub use crate::tags::*;
}

/// Word segmentation helpers: tag roles as word boundaries, whole-input and whole-line segmentation.
pub mod segment {
    pub use crate::segment::{segment, segment_with_rules, ChunkRoles};
    #[cfg(feature = "alloc")]
    pub use crate::segment::{segment_line, segment_line_with_rules};
}

/// Streaming helpers.
pub mod stream {
    pub use crate::stream::label_stream;
}

/// Text in: incremental UTF-8 decoding, character normalisation and character classes.
pub mod text {
    pub use crate::text::*;
}

/// CRC-32 (IEEE), as the model file's checksum uses it.
pub mod crc {
    pub use crate::crc::*;
}

/// What the trainer and the tests read of a loaded [`Model`] beyond the public API: the raw body, the
/// n-gram tables, the widened scores and emission scores at a position. Import it to call these as
/// methods.
pub trait ModelInternals<'a> {
    /// The decoded body, as the file stores it (for tools that print or re-export it).
    fn body(&self) -> &ModelBody<'a>;
    /// The hashed n-gram emission model; `None` for a model of another emission kind (none yet).
    fn ngram(&self) -> Option<&HashedNgram<'a>>;
    /// The neural encoder of a neural or hybrid model; `None` for a model of another emission kind.
    #[cfg(feature = "neural")]
    fn neural(&self) -> Option<&crate::neural::Neural<'a>>;
    /// The n-gram table of a hybrid model (`None` for the other kinds).
    #[cfg(feature = "neural")]
    fn hybrid_table(&self) -> Option<&crate::emission::HybridTable<'a>>;
    /// The hard constraints decoding obeys.
    fn constraints(&self) -> &Constraints;
    /// Least `k` such that any tag reaches any tag in exactly `k` allowed steps (bounds score spread).
    fn primitive_exponent(&self) -> usize;
    /// Fractional bits of every score.
    fn score_frac_bits(&self) -> u8;
    /// Transition score from tag `from` to tag `to` (score units; 0 for tags out of range).
    fn transition(&self, from: usize, to: usize) -> i32;
    /// Score of starting with `tag` (score units; 0 for tags out of range).
    fn start_score(&self, tag: usize) -> i32;
    /// Score of ending with `tag` (score units; 0 for tags out of range).
    fn end_score(&self, tag: usize) -> i32;
    /// The emission scores of every tag at `position` of `chars` (raw characters, the whole sequence),
    /// into `out[..L]`: what decoding adds at that position, with the model's normalisation and word list.
    fn emission_scores<const N: usize>(&self, chars: &[char], position: usize, out: &mut [i32; N]);
    /// The rows of the hashed table each template reads at `position` of `chars`: `visit(template index,
    /// row)`, once per row a feature reads (its hash's first). Nothing for a model of another kind.
    fn table_rows(&self, chars: &[char], position: usize, visit: impl FnMut(usize, usize));
    /// The templates of a token-level model (`None` for a character model).
    #[cfg(feature = "tokens")]
    fn token_templates(&self) -> Option<&crate::tokens::TokenTemplates<'a>>;
    /// The emission scores of every tag at token `position` of `tokens`, into `out[..L]` (zeros for a
    /// model that is not token-level).
    #[cfg(feature = "tokens")]
    fn token_scores<const N: usize>(
        &self,
        tokens: &(impl crate::tokens::TokenColumns + ?Sized),
        position: usize,
        out: &mut [i32; N],
    );
}

impl<'a> ModelInternals<'a> for Model<'a> {
    fn body(&self) -> &ModelBody<'a> {
        Model::body(self)
    }

    fn ngram(&self) -> Option<&HashedNgram<'a>> {
        Model::ngram(self)
    }

    #[cfg(feature = "neural")]
    fn neural(&self) -> Option<&crate::neural::Neural<'a>> {
        Model::neural(self)
    }

    #[cfg(feature = "neural")]
    fn hybrid_table(&self) -> Option<&crate::emission::HybridTable<'a>> {
        Model::hybrid_table(self)
    }

    fn constraints(&self) -> &Constraints {
        Model::constraints(self)
    }

    fn primitive_exponent(&self) -> usize {
        Model::primitive_exponent(self)
    }

    fn score_frac_bits(&self) -> u8 {
        self.body().score_frac_bits
    }

    fn transition(&self, from: usize, to: usize) -> i32 {
        Model::transition(self, from, to)
    }

    fn start_score(&self, tag: usize) -> i32 {
        Model::start_score(self, tag)
    }

    fn end_score(&self, tag: usize) -> i32 {
        Model::end_score(self, tag)
    }

    fn emission_scores<const N: usize>(&self, chars: &[char], position: usize, out: &mut [i32; N]) {
        let mut scorer = self.scorer();
        scorer.seek(chars, position);
        scorer.scores(&mut crate::emission::EmissionCache::new(), out);
    }

    #[cfg(feature = "tokens")]
    fn token_templates(&self) -> Option<&crate::tokens::TokenTemplates<'a>> {
        Model::token_templates(self)
    }

    #[cfg(feature = "tokens")]
    fn token_scores<const N: usize>(
        &self,
        tokens: &(impl crate::tokens::TokenColumns + ?Sized),
        position: usize,
        out: &mut [i32; N],
    ) {
        Model::token_scores(self, tokens, position, out)
    }

    fn table_rows(&self, chars: &[char], position: usize, visit: impl FnMut(usize, usize)) {
        let mut scorer = self.scorer();
        scorer.seek(chars, position);
        scorer.table_rows(visit);
    }
}
