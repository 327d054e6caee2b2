//! `cargo xtask frontier`: the accuracy-size frontier of the segmenter.
//!
//! For each corpus the project's own trainer first trains the unlimited model
//! (no byte budget, the trainer's default tags), then for each byte budget
//! (32 KiB ... 1 MiB) a 4-tag and a 6-tag model distilled from it (the
//! unlimited model labels the corpora's training text, which joins the
//! budgeted model's training data), and `trainer eval` scores each quantized
//! model on that corpus's test set. The runs are written as
//! `frontier.md` (a table per corpus, with the exact command lines),
//! `frontier.json` and `frontier.svg` (F1 against model bytes, log scale,
//! with the model room of the lm3s6965evb's flash marked). What the tag sets
//! cost the decoder comes from the measurements in `docs/firmware.json`.
//!
//! ```sh
//! cargo xtask frontier                                  # every budget, PKU and CTB6, into docs/
//! cargo xtask frontier --corpus pku --budgets 32K,160K  # a subset
//! cargo xtask frontier --quick                          # smoke test into target/frontier/
//! cargo xtask frontier --rerender                       # docs/frontier.* again from docs/frontier.json
//! ```
//!
//! The modules: [`plan`] (budgets, tag sets, corpora, board fit), [`runner`]
//! (training and scoring), [`report`] (Markdown and JSON), [`svg`] (the plot)
//! [`cost`] (the measured decode costs) and [`mod@rerender`] (the outputs again
//! from an existing frontier.json). Everything that does not run a
//! process is a pure function, tested next to its code.

pub mod cost;
pub mod plan;
pub mod report;
pub mod rerender;
pub mod runner;
pub mod svg;

pub use cost::{decode_cost_sentence, DecodeCosts};
pub use plan::{
    distill_sources, flash_length, format_size, parse_size, run_plan, sorted_budgets, BoardFlash, Budget, Corpus,
    CorpusFiles, CorpusSelection, WordTags, DEFAULT_BUDGETS, DEFAULT_BUDGET_LIST,
};
pub use report::{render_json, render_markdown, FrontierReport, FrontierRun, Scores};
pub use rerender::rerender;
pub use runner::{
    default_out_dir, first_sentences, parse_scores, run, scratch_dir, write_outputs, FrontierOptions, QUICK_SENTENCES,
};
pub use svg::render_svg;
