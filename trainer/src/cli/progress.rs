//! The console's [`Progress`]: what `trainer train` shows while the pipeline runs.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::pipeline::{Progress, ProgressEvent};

/// Shows the pipeline's progress on standard error: a bar per epoch, a line per message and epoch, and
/// the final report (`--quiet` uses [`crate::pipeline::Silent`] instead).
#[derive(Debug, Default)]
pub struct ConsoleProgress {
    bar: Option<ProgressBar>,
}

impl ConsoleProgress {
    /// A console progress display.
    pub fn new() -> Self {
        Self { bar: None }
    }

    fn clear_bar(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Progress for ConsoleProgress {
    fn event(&mut self, event: ProgressEvent) {
        match event {
            ProgressEvent::StageStarted(_) => {}
            ProgressEvent::Message(text) => {
                self.clear_bar();
                eprintln!("{text}");
            }
            ProgressEvent::EpochStarted { epoch, epochs, characters } => {
                self.clear_bar();
                let bar = ProgressBar::with_draw_target(Some(characters), ProgressDrawTarget::stderr());
                bar.set_style(
                    ProgressStyle::with_template("{prefix} [{bar:30}] {percent:>3}%  {per_sec} chars  ETA {eta}")
                        .expect("valid template")
                        .progress_chars("=> "),
                );
                bar.set_prefix(format!("epoch {epoch}/{epochs}"));
                self.bar = Some(bar);
            }
            ProgressEvent::Trained { characters } => {
                if let Some(bar) = &self.bar {
                    bar.inc(characters);
                }
            }
            ProgressEvent::EpochFinished { epoch, epochs, loss_per_char, dev, elapsed } => {
                self.clear_bar();
                eprintln!(
                    "epoch {epoch:>2}/{epochs}  loss {loss_per_char:.4}/char  dev {dev}  ({:.1} s)",
                    elapsed.as_secs_f64()
                );
            }
            ProgressEvent::Report(text) => eprint!("{text}"),
        }
    }
}
