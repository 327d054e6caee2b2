//! Trains, evaluates, quantizes and exports CRF sequence labelers (first task: Chinese word
//! segmentation with BMES tags) for the `no_std` integer `decoder`.
//!
//! The entry point is [`pipeline::train`]: plain [`pipeline::TrainOptions`] (their [`Default`] is
//! `trainer train`'s) in, a model file and a [`pipeline::TrainSummary`] out, with progress reported
//! through the [`pipeline::Progress`] trait (the library itself never prints). The `trainer` binary is
//! a thin command line over it ([`cli`]); the `tune` example program exposes every knob for experiments.
//!
//! ```no_run
//! use trainer::pipeline::{train, Silent, TrainOptions};
//!
//! let options = TrainOptions { max_model_bytes: Some(64 * 1024), ..TrainOptions::default() };
//! let summary = train(&options, &mut Silent)?;
//! println!("{} bytes, dev {}", summary.bytes.len(), summary.quantized_dev);
//! # Ok::<(), anyhow::Error>(())
//! ```
//!
//! Modules, in the order data flows through them:
//! - [`corpus`]: reading segmented and CoNLL corpora; [`conll`]: CoNLL column files (NER, chunking);
//! - [`features`]: hashed n-gram features, computed through `decoder::internal::features`; [`lexicon`]: the
//!   jackknifed word list of the lexicon templates;
//! - [`model`]: the float parameters and float Viterbi;
//! - [`neural`]: the neural emission model's float weights, reference forward pass, int8 export and its
//!   training with candle;
//! - [`crf`]: forward-backward, the CRF and softmax losses and their gradients;
//! - [`optimizer`]: Adagrad with lazy sparse updates, L1/L2 and averaging;
//! - [`train`]: the training loop;
//! - [`distill`]: a teacher model labels unlabeled text for a smaller model's training data;
//! - [`codebook`]: k-means of the table's rows into a codebook;
//! - [`quantize`]: integer scales and export through `decoder::internal::format::encode`;
//! - [`integer`]: the exported model's integer decode path (the decoder's);
//! - [`scorer`] and [`evaluate`]: the SIGHAN scorer and dev-set scoring; [`conventions`]: where a test
//!   set's gold segmentation follows conventions its training text never does; [`conlleval`]: entity
//!   (chunk) scoring as the CoNLL `conlleval` script does it; [`crfsuite`]: our token features in CRFsuite's
//!   attribute format (the peer benchmark);
//! - [`pipeline`]: a whole training run, one stage per file (budget sizing, teacher and distillation,
//!   word list, ensemble and refit, compression, quantization, report);
//! - [`cli`]: the command-line commands (the only module that knows `clap`).

pub mod cli;
pub mod codebook;
pub mod codebook_fit;
pub mod codebook_pull;
pub mod conll;
pub mod conlleval;
pub mod conventions;
pub mod corpus;
pub mod crf;
pub mod crfsuite;
pub mod distill;
pub mod evaluate;
pub mod features;
pub mod integer;
pub mod lexicon;
pub mod mentions;
pub mod model;
pub mod neural;
pub mod optimizer;
pub mod pipeline;
pub mod quantize;
pub mod scorer;
pub mod token;
pub mod train;
