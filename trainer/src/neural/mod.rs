//! The neural emission model's host side (issue #18): float weights, the float reference forward pass,
//! random weights for tests, quantization to the decoder's integer format, and training with candle.
//!
//! - [`weights`]: the float parameters, with every shape;
//! - [`forward`]: the float reference forward pass (emission scores per position);
//! - [`random`]: random weights of a given shape;
//! - [`export`]: int8 quantization (per-channel scales, fixed-point requantization) and the model file;
//! - [`error_bound`]: how far the integer scores can be from the float ones, from the weights;
//! - [`sample`]: the small random model the firmware test runs;
//! - [`crf_loss`]: the CRF and softmax losses in candle operations (candle differentiates them);
//! - [`train`]: the training loop (AdamW, the CRF layer's own learning rate, dropout, early stopping);
//! - [`warm_start`]: a hybrid table started from a linear model trained first;
//! - [`base`]: residual training on a fixed linear model's scores (`--neural base=`, an experiment);
//! - [`study`]: the CRF learning-rate study (runs, its metrics, its table);
//! - [`describe`]: what `trainer inspect` prints about a neural model.

pub mod base;
pub mod crf_loss;
pub mod describe;
pub mod error_bound;
pub mod export;
pub mod forward;
pub mod random;
pub mod sample;
pub mod study;
pub mod train;
pub mod warm_start;
pub mod weights;
