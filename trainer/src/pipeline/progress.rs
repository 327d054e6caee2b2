//! How the pipeline reports what it is doing: events to a [`Progress`] implementation, which decides
//! whether and how to show them (the command line prints them to standard error; `--quiet` and tests
//! use [`Silent`]). Library code never prints.

use std::time::Duration;

use crate::evaluate::DevScore;

/// The stages of [`super::train`], in the order they run (some are skipped, e.g. without a byte budget
/// there is no reference model).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Reading the training and dev corpora.
    ReadingData,
    /// Training the unlimited reference model of a byte-budget run.
    ReferenceModel,
    /// A teacher labelling the unlabeled text.
    Distillation,
    /// Building the word list of the lexicon templates.
    WordList,
    /// Training the exported model (every ensemble member and refit).
    Training,
    /// Pruning and the codebook's k-means.
    Compression,
    /// Trying the integer layouts and exporting the model file.
    Quantization,
    /// Scoring the test corpus.
    Testing,
}

/// Something the pipeline or the training loop did.
#[derive(Debug, Clone)]
pub enum ProgressEvent {
    /// A stage begins.
    StageStarted(Stage),
    /// A line of information (sizes chosen, scores reached, warnings).
    Message(String),
    /// A training epoch begins; `characters` is how many characters it will read.
    EpochStarted {
        /// 1-based epoch number.
        epoch: usize,
        /// Most epochs of this run.
        epochs: usize,
        /// Characters in the training data.
        characters: u64,
    },
    /// A mini-batch of `characters` characters was trained on.
    Trained {
        /// Characters in the batch.
        characters: u64,
    },
    /// A training epoch ended and was scored on dev.
    EpochFinished {
        /// 1-based epoch number.
        epoch: usize,
        /// Most epochs of this run.
        epochs: usize,
        /// Mean training loss per character.
        loss_per_char: f64,
        /// Dev score after the epoch.
        dev: DevScore,
        /// Wall time of the epoch, dev scoring included.
        elapsed: Duration,
    },
    /// The summary of a finished training run (several lines, each ending in a newline): what
    /// `trainer train` prints at the end unless `--quiet`.
    Report(String),
}

/// Receives the pipeline's events.
pub trait Progress {
    /// Handles one event.
    fn event(&mut self, event: ProgressEvent);
}

/// A [`Progress`] that ignores every event.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {
    fn event(&mut self, _event: ProgressEvent) {}
}

/// Sends a [`ProgressEvent::Message`].
pub(crate) fn say(progress: &mut dyn Progress, text: String) {
    progress.event(ProgressEvent::Message(text));
}
