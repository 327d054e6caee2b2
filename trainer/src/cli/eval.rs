//! `trainer eval` (segment a gold file's text with a model and score it) and `trainer score` (score an
//! existing segmentation), both like the official SIGHAN `score` script.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, Result};
use clap::Args;

use super::span_args::{load_dictionary, SpanArgs};
use super::{out, out_raw};
use crate::conventions;
use crate::corpus::{self, CorpusFormat};
use crate::evaluate::DevScore;
use crate::integer;
use crate::pipeline::{load_model, read_model_file, words_path_for};
use crate::scorer::{self, Dictionary};

/// Options of `eval`.
#[derive(Debug, Clone, Args)]
pub struct EvalArgs {
    /// The model file.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// Gold segmentation (words separated by spaces); its text without the spaces is segmented. A
    /// CoNLL `char<TAB>tag` file is scored by tag accuracy instead. With a token-level model, a CoNLL
    /// column file, scored by entity (chunk) precision, recall and F1 as conlleval scores it.
    #[arg(long, value_name = "FILE", visible_alias = "test")]
    pub gold: PathBuf,
    /// Word list defining OOV words (one per line, e.g. pku_training_words.utf8). Default: MODEL.words,
    /// the training vocabulary the trainer writes next to the model; without either, OOV recall is not
    /// reported.
    #[arg(long, value_name = "FILE")]
    pub words: Option<PathBuf>,
    /// Also write the segmented text here (it can be fed to the official score script).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print the scores as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub spans: SpanArgs,
}

/// Options of `score`.
#[derive(Debug, Clone, Args)]
pub struct ScoreArgs {
    /// Gold segmentation.
    #[arg(long, value_name = "FILE")]
    pub gold: PathBuf,
    /// Segmentation to score, line by line against the gold file.
    #[arg(long, value_name = "FILE")]
    pub test: PathBuf,
    /// Word list defining OOV words (without it every word counts as OOV, as with an empty list).
    #[arg(long, value_name = "FILE")]
    pub words: Option<PathBuf>,
    /// A segmented training text: also report the convention conflicts, the disagreements whose
    /// tested reading this text has at least --conflict-min-count times and whose gold reading it
    /// never has, and F1 with them read the gold way.
    #[arg(long, value_name = "FILE")]
    pub conventions: Option<PathBuf>,
    /// See --conventions.
    #[arg(long, default_value_t = 3, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub conflict_min_count: u32,
    /// Print the scores as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Kinds of convention conflict `score --conventions` lists.
const LISTED_CONFLICTS: usize = 15;

/// The `eval` command.
pub fn run_eval(args: &EvalArgs) -> Result<()> {
    let model_bytes = read_model_file(&args.model)?;
    let model = load_model(&args.model, &model_bytes)?;
    if model.is_token_level() {
        return run_token_eval(&model, args);
    }
    let gold_bytes = corpus::read_bytes(&args.gold)?;
    let (dictionary, words_source) = match &args.words {
        Some(path) => (Some(Dictionary::from_bytes(&corpus::read_bytes(path)?)), Some(path.clone())),
        None => {
            let default = words_path_for(&args.model);
            match std::fs::read(&default) {
                Ok(bytes) => (Some(Dictionary::from_bytes(&bytes)), Some(default)),
                Err(_) => (None, None),
            }
        }
    };
    let started = Instant::now();
    if corpus::detect_format(&gold_bytes) == CorpusFormat::Conll {
        let tag_names: Vec<String> = model.tag_names().map(str::to_string).collect();
        let gold = corpus::parse_conll(&gold_bytes, &args.gold.display().to_string(), Some(&tag_names))?;
        let score = integer::evaluate(&model, &gold.sentences, None);
        if args.json {
            let DevScore::Tagging { correct, total } = score else { unreachable!("tagging score") };
            out!("{}", serde_json::json!({ "accuracy": score.value(), "correct": correct, "total": total }));
        } else {
            out!("{score}");
        }
        return Ok(());
    }
    // Validate the gold file (clear errors for bad lines), then rebuild each line's raw text.
    let gold_lines = corpus::parse_segmented_lines(&gold_bytes, &args.gold.display().to_string())?;
    let raw: String = gold_lines.iter().map(|words| words.concat() + "\n").collect();
    let dictionary_bytes = args.spans.dictionary_bytes()?;
    let user_dictionary = load_dictionary(dictionary_bytes.as_deref())?;
    let rules = args.spans.rules(user_dictionary.as_ref());
    let (segmented, forced_cuts) = integer::segment_stream(&model, rules, raw.as_bytes());
    if forced_cuts > 0 && !args.json {
        eprintln!("note: {forced_cuts} forced cuts (runs longer than the decoder's window)");
    }
    if let Some(path) = &args.output {
        std::fs::write(path, &segmented).with_context(|| format!("writing {}", path.display()))?;
    }
    let counts = scorer::score_files(&gold_bytes, &segmented, dictionary.as_ref());
    print_counts(
        &counts,
        &args.gold,
        words_source.as_deref(),
        Some(&args.model),
        args.json,
        started.elapsed().as_secs_f64(),
    )
}

fn print_counts(
    counts: &scorer::ScoreCounts,
    gold: &Path,
    words: Option<&Path>,
    model: Option<&Path>,
    json: bool,
    seconds: f64,
) -> Result<()> {
    let with_words = words.is_some();
    if json {
        let value = serde_json::json!({
            "model": model.map(|p| p.display().to_string()),
            "gold": gold.display().to_string(),
            "words": words.map(|p| p.display().to_string()),
            "precision": counts.precision(),
            "recall": counts.recall(),
            "f1": counts.f1(),
            "oov_rate": with_words.then(|| counts.oov_rate()),
            "oov_recall": if with_words { counts.oov_recall() } else { None },
            "iv_recall": if with_words { counts.iv_recall() } else { None },
            "counts": counts,
            "seconds": seconds,
        });
        out!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        out_raw!("{}", counts.official_summary());
        match words {
            Some(path) => out!("(OOV words: not in {})", path.display()),
            None => out!("(no word list: every word counts as OOV; pass --words FILE)"),
        }
        out!(
            "F1 {:.2}  P {:.2}  R {:.2}  OOV-R {}  IV-R {}  ({} lines, {:.1} s)",
            100.0 * counts.f1(),
            100.0 * counts.precision(),
            100.0 * counts.recall(),
            counts.oov_recall().map_or("--".into(), |v| format!("{:.2}", 100.0 * v)),
            counts.iv_recall().map_or("--".into(), |v| format!("{:.2}", 100.0 * v)),
            counts.lines,
            seconds
        );
    }
    Ok(())
}

/// The `score` command.
pub fn run_score(args: &ScoreArgs) -> Result<()> {
    let started = Instant::now();
    let gold = corpus::read_bytes(&args.gold)?;
    let test = corpus::read_bytes(&args.test)?;
    let dictionary = match &args.words {
        Some(path) => Dictionary::from_bytes(&corpus::read_bytes(path)?),
        None => Dictionary::default(),
    };
    let counts = scorer::score_files(&gold, &test, Some(&dictionary));
    let Some(training_path) = &args.conventions else {
        return print_counts(
            &counts,
            &args.gold,
            args.words.as_deref(),
            None,
            args.json,
            started.elapsed().as_secs_f64(),
        );
    };
    let training = corpus::read_bytes(training_path)?;
    let report = conventions::convention_conflicts(&gold, &test, &training, args.conflict_min_count, LISTED_CONFLICTS);
    if args.json {
        let value = serde_json::json!({
            "gold": args.gold.display().to_string(),
            "test": args.test.display().to_string(),
            "training": training_path.display().to_string(),
            "f1": counts.f1(),
            "conventions": report,
            "span_f1": report.f1(),
            "span_f1_without_conflicts": report.f1_without_conflicts(),
        });
        out!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    print_counts(&counts, &args.gold, args.words.as_deref(), None, false, started.elapsed().as_secs_f64())?;
    out!(
        "convention conflicts against {}: {} of {} disagreements ({} gold words) have the tested reading in the \
         training text at least {} times and the gold reading never",
        training_path.display(),
        report.conflicts,
        report.disagreements,
        report.conflict_gold_words,
        report.conflict_min_count()
    );
    if report.mismatched_lines > 0 {
        out!("({} lines left out: their characters differ between gold and test)", report.mismatched_lines);
    }
    out!(
        "F1 {:.2} (words in the same place), {:.2} with the conflicts read the gold way",
        100.0 * report.f1(),
        100.0 * report.f1_without_conflicts()
    );
    for c in &report.top {
        out!("  {:>4} x  gold {}  /  tested {}  (training: {} times)", c.occurrences, c.gold, c.test, c.training_count);
    }
    Ok(())
}

/// `eval` of a token-level model: conlleval's report (or JSON with `precision`, `recall`, `f1`,
/// `per_type`).
fn run_token_eval(model: &decoder::Model<'_>, args: &EvalArgs) -> Result<()> {
    let started = Instant::now();
    let report = crate::token::evaluate_file(model, &args.gold)?;
    if args.json {
        let json = super::conlleval::report_json(&report, started.elapsed().as_secs_f64());
        out!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        out_raw!("{}", report.render_conlleval());
    }
    Ok(())
}
