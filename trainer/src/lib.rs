//! Trains, evaluates, quantizes and exports CRF sequence labelers (first task: Chinese word
//! segmentation with BMES tags) for the `no_std` integer `decoder`.
//!
//! Modules, in the order data flows through them:
//! - [`corpus`]: reading segmented and CoNLL corpora;
//! - [`features`]: hashed n-gram features, computed through `decoder::features`; [`lexicon`]: the
//!   jackknifed word list of the lexicon templates;
//! - [`model`]: the float parameters and float Viterbi;
//! - [`crf`]: forward-backward, the CRF and softmax losses and their gradients;
//! - [`optimizer`]: Adagrad with lazy sparse updates, L1/L2 and averaging;
//! - [`train`]: the training loop;
//! - [`distill`]: a teacher model labels unlabeled text for a smaller model's training data;
//! - [`quantize`]: integer scales and export through `decoder::internal::format::encode`;
//! - [`integer`]: the exported model's integer decode path (the decoder's);
//! - [`scorer`] and [`evaluate`]: the SIGHAN scorer and dev-set scoring; [`conventions`]: where a test
//!   set's gold segmentation follows conventions its training text never does;
//! - [`cli`]: the command-line commands.

pub mod cli;
pub mod codebook;
pub mod conventions;
pub mod corpus;
pub mod crf;
pub mod distill;
pub mod evaluate;
pub mod features;
pub mod integer;
pub mod lexicon;
pub mod model;
pub mod optimizer;
pub mod quantize;
pub mod scorer;
pub mod train;
