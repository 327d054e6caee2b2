//! The models the README quotes: the one list of what `cargo xtask results`
//! trains, with the trainer arguments a user would type.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

/// How corpus paths are written in the arguments below and in the
/// generated documents: `$D/icwb2/...` stands for the data directory.
pub const DATA_DIR_SYMBOL: &str = "$D";

/// The test set a model is scored on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestCorpus {
    /// SIGHAN 2005 PKU test, OOV words defined by the PKU training word list.
    Pku,
    /// Chinese Treebank 6 test, OOV words defined by the model's training words.
    Ctb6,
    /// CoNLL-2000 chunking test (token-level, conlleval's chunk F1).
    Conll2000,
    /// Weibo NER (2nd release) test (token-level, conlleval's entity F1).
    WeiboNer,
    /// CoNLL-2003 English `eng.testb` (token-level, conlleval's entity F1).
    Conll2003,
}

impl TestCorpus {
    /// The name recorded in docs/results.json.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pku => "pku",
            Self::Ctb6 => "ctb6",
            Self::Conll2000 => "conll2000",
            Self::WeiboNer => "weibo-ner",
            Self::Conll2003 => "conll2003",
        }
    }

    /// The gold segmentation (or gold CoNLL file) of the test set.
    pub fn gold(self) -> &'static str {
        match self {
            Self::Pku => "$D/icwb2/pku_test_gold.utf8",
            Self::Ctb6 => "$D/ctb6/ctb6.test.seg",
            Self::Conll2000 => "$D/conll2000/test.txt",
            Self::WeiboNer => "$D/weibo-ner/weiboNER_2nd_conll.test",
            Self::Conll2003 => "$D/conll2003/eng.testb",
        }
    }

    /// Whether its models are token-level (a CoNLL column file, scored by `trainer eval --test` with
    /// conlleval's rules) rather than segmenters.
    pub fn token_level(self) -> bool {
        matches!(self, Self::Conll2000 | Self::WeiboNer | Self::Conll2003)
    }

    /// The word list defining OOV words; `None`: the trainer's MODEL.words
    /// (the model's own training vocabulary), which `trainer eval` reads by
    /// default.
    pub fn words(self) -> Option<&'static str> {
        match self {
            Self::Pku => Some("$D/icwb2/pku_training_words.utf8"),
            _ => None,
        }
    }

    /// The training text whose conventions `trainer score --conventions`
    /// compares the gold against.
    pub fn training_text(self) -> &'static str {
        match self {
            Self::Pku => "$D/pfr199801/199801_seg.utf8",
            Self::Ctb6 => "$D/ctb6/ctb6.train.seg",
            Self::Conll2000 => "$D/conll2000/train.txt",
            Self::WeiboNer => "$D/weibo-ner/weiboNER_2nd_conll.train",
            Self::Conll2003 => "$D/conll2003/eng.train",
        }
    }
}

/// One model the README quotes.
#[derive(Debug, Clone, Copy)]
pub struct ModelSpec {
    /// Its name: `--only NAME`, and `target/results/NAME.crfm`.
    pub name: &'static str,
    /// One line saying what it is.
    pub description: &'static str,
    /// The test set it is scored on.
    pub corpus: TestCorpus,
    /// The arguments of `trainer train` (without `--out`), corpus paths
    /// written `$D/...`.
    pub train_args: &'static [&'static str],
    /// Whether to count the convention conflicts between its test output
    /// and the gold (`trainer score --conventions`).
    pub conventions: bool,
    /// A committed model file this one should reproduce byte for byte.
    pub committed: Option<&'static str>,
}

/// Every model, in the order they are trained and listed.
pub const MODELS: &[ModelSpec] = &[
    ModelSpec {
        name: "pku",
        description: "unlimited: the trainer's defaults (no byte budget, 6 tags, a word list of the training words)",
        corpus: TestCorpus::Pku,
        train_args: &[
            "--train",
            "$D/pfr199801/199801_seg.utf8",
            "--test",
            "$D/icwb2/pku_test_gold.utf8",
            "--words",
            "$D/icwb2/pku_training_words.utf8",
        ],
        conventions: true,
        committed: None,
    },
    ModelSpec {
        name: "pku-hybrid",
        description: "hybrid emission model (issue #18): the CNN encoder plus a 2^20-row n-gram table started from a \
                      linear model, 6 tags, no word list; training stops after 25 minutes",
        corpus: TestCorpus::Pku,
        train_args: &[
            "--emission",
            "hybrid",
            "--word-tags",
            "bmes6",
            "--neural",
            "minutes=25,table-init=linear",
            "--train",
            "$D/pfr199801/199801_seg.utf8",
            "--test",
            "$D/icwb2/pku_test_gold.utf8",
            "--words",
            "$D/icwb2/pku_training_words.utf8",
        ],
        conventions: false,
        committed: None,
    },
    ModelSpec {
        name: "ctb6",
        description: "unlimited, trained on CTB6 with its dev set",
        corpus: TestCorpus::Ctb6,
        train_args: &[
            "--train",
            "$D/ctb6/ctb6.train.seg",
            "--dev",
            "$D/ctb6/ctb6.dev.seg",
            "--test",
            "$D/ctb6/ctb6.test.seg",
        ],
        conventions: true,
        committed: None,
    },
    ModelSpec {
        name: "ctb6-ensemble-refit",
        description: "unlimited, CTB6: the mean of 3 seeds' models, each refit on train + dev",
        corpus: TestCorpus::Ctb6,
        train_args: &[
            "--train",
            "$D/ctb6/ctb6.train.seg",
            "--dev",
            "$D/ctb6/ctb6.dev.seg",
            "--test",
            "$D/ctb6/ctb6.test.seg",
            "--ensemble",
            "3",
            "--refit",
        ],
        conventions: false,
        committed: None,
    },
    ModelSpec {
        name: "pku-160k",
        description: "160 KiB budget with a word list, distilled from the unlimited model on PKU and CTB6 text",
        corpus: TestCorpus::Pku,
        train_args: &[
            "--train",
            "$D/pfr199801/199801_seg.utf8",
            "--max-model-bytes",
            "163840",
            "--distill",
            "$D/pfr199801/199801_seg.utf8",
            "--distill",
            "$D/ctb6/ctb6.train.seg",
            "--test",
            "$D/icwb2/pku_test_gold.utf8",
            "--words",
            "$D/icwb2/pku_training_words.utf8",
        ],
        conventions: false,
        committed: None,
    },
    ModelSpec {
        name: "pku-160k-6tags",
        description: "the same with six tags (B, M-2, M-3, M, E, S): the frontier's decode cost of six tags",
        corpus: TestCorpus::Pku,
        train_args: &[
            "--train",
            "$D/pfr199801/199801_seg.utf8",
            "--max-model-bytes",
            "163840",
            "--word-tags",
            "bmes6",
            "--distill",
            "$D/pfr199801/199801_seg.utf8",
            "--distill",
            "$D/ctb6/ctb6.train.seg",
            "--test",
            "$D/icwb2/pku_test_gold.utf8",
            "--words",
            "$D/icwb2/pku_training_words.utf8",
        ],
        conventions: false,
        committed: None,
    },
    ModelSpec {
        name: "default",
        description: "200 KiB budget without a word list, distilled: the firmware's default model",
        corpus: TestCorpus::Pku,
        train_args: &[
            "--train",
            "$D/pfr199801/199801_seg.utf8",
            "--max-model-bytes",
            "204800",
            "--distill",
            "$D/pfr199801/199801_seg.utf8",
            "--distill",
            "$D/ctb6/ctb6.train.seg",
            "--no-lexicon",
            "--test",
            "$D/icwb2/pku_test_gold.utf8",
            "--words",
            "$D/icwb2/pku_training_words.utf8",
        ],
        conventions: false,
        committed: Some("models/default.crfm"),
    },
    ModelSpec {
        name: "conll2000",
        description: "token-level chunker: the default template and options (dev: every 20th training sentence)",
        corpus: TestCorpus::Conll2000,
        train_args: &["--train", "$D/conll2000/train.txt"],
        conventions: false,
        committed: None,
    },
    ModelSpec {
        name: "weibo-ner",
        description: "token-level NER, one character a token (the word positions stripped), with the dev set and \
                      the mention list of the training file (`--mention-list`, stored in the model file)",
        corpus: TestCorpus::WeiboNer,
        train_args: &[
            "--train",
            "$D/weibo-ner/weiboNER_2nd_conll.train",
            "--dev",
            "$D/weibo-ner/weiboNER_2nd_conll.dev",
            "--mention-list",
        ],
        conventions: false,
        committed: None,
    },
    ModelSpec {
        name: "conll2003",
        description: "token-level NER, unlimited: the default template and options, dev eng.testa",
        corpus: TestCorpus::Conll2003,
        train_args: &["--train", "$D/conll2003/eng.train", "--dev", "$D/conll2003/eng.testa"],
        conventions: false,
        committed: None,
    },
    ModelSpec {
        name: "conll2003-64k",
        description: "token-level NER in 64 KiB (codebook), the model the firmware runs",
        corpus: TestCorpus::Conll2003,
        train_args: &[
            "--train",
            "$D/conll2003/eng.train",
            "--dev",
            "$D/conll2003/eng.testa",
            "--max-model-bytes",
            "65536",
            "--epochs",
            "20",
            "--patience",
            "5",
        ],
        conventions: false,
        committed: Some("models/ner-conll2003-64k.crfm"),
    },
];

/// The models named by `--only` (all of them for an empty list), in the
/// order of [`MODELS`].
pub fn select(names: &[String]) -> Result<Vec<&'static ModelSpec>> {
    if let Some(unknown) = names.iter().find(|name| !MODELS.iter().any(|model| model.name == name.as_str())) {
        let known: Vec<&str> = MODELS.iter().map(|model| model.name).collect();
        bail!("--only: no model named `{unknown}` (the models: {})", known.join(", "));
    }
    Ok(MODELS.iter().filter(|model| names.is_empty() || names.iter().any(|name| name == model.name)).collect())
}

/// `$D/x` as a path under `data_dir`; any other argument unchanged.
pub fn expand(argument: &str, data_dir: &Path) -> PathBuf {
    match argument.strip_prefix(DATA_DIR_SYMBOL).and_then(|rest| rest.strip_prefix('/')) {
        Some(relative) => data_dir.join(relative),
        None => PathBuf::from(argument),
    }
}

impl ModelSpec {
    /// Every corpus file the model needs (training, dev, distillation, test,
    /// word list, conventions), as written (`$D/...`), each once.
    pub fn corpus_files(&self) -> Vec<&'static str> {
        let mut files: Vec<&'static str> =
            self.train_args.iter().copied().filter(|argument| argument.starts_with(DATA_DIR_SYMBOL)).collect();
        files.push(self.corpus.gold());
        files.extend(self.corpus.words());
        if self.conventions {
            files.push(self.corpus.training_text());
        }
        let mut unique = Vec::new();
        for file in files {
            if !unique.contains(&file) {
                unique.push(file);
            }
        }
        unique
    }
}

/// Fails naming every corpus file the models need that `data_dir` lacks.
pub fn check_corpora(models: &[&ModelSpec], data_dir: &Path) -> Result<()> {
    let mut missing = Vec::new();
    for model in models {
        for file in model.corpus_files() {
            let path = expand(file, data_dir);
            if !path.is_file() && !missing.iter().any(|(shown, _)| *shown == file) {
                missing.push((file, path));
            }
        }
    }
    if !missing.is_empty() {
        let lines: Vec<String> =
            missing.iter().map(|(shown, path)| format!("  {shown} ({})", path.display())).collect();
        bail!(
            "missing corpus files ($D = {}; set it with --data DIR or CRF_DATA_DIR):\n{}",
            data_dir.display(),
            lines.join("\n")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_selects_by_name_in_list_order_and_rejects_unknown_names() {
        let names = |list: &[&str]| -> Vec<String> { list.iter().map(|name| (*name).to_owned()).collect() };
        let chosen: Vec<&str> = select(&names(&["default", "pku"])).unwrap().iter().map(|m| m.name).collect();
        assert_eq!(chosen, ["pku", "default"]);
        assert_eq!(select(&[]).unwrap().len(), MODELS.len());
        let error = select(&names(&["pku", "tiny"])).unwrap_err().to_string();
        assert!(error.contains("`tiny`") && error.contains("ctb6-ensemble-refit"), "{error}");
    }

    #[test]
    fn data_paths_expand_under_the_data_dir_and_other_arguments_stay() {
        let data = Path::new("/corpora");
        assert_eq!(expand("$D/ctb6/ctb6.dev.seg", data), Path::new("/corpora/ctb6/ctb6.dev.seg"));
        assert_eq!(expand("163840", data), Path::new("163840"));
    }

    #[test]
    fn a_missing_corpus_file_is_named() {
        let empty = std::env::temp_dir().join("xtask-results-no-corpora");
        let error = check_corpora(&select(&["ctb6".to_owned()]).unwrap(), &empty).unwrap_err().to_string();
        assert!(error.contains("$D/ctb6/ctb6.dev.seg") && error.contains("--data DIR"), "{error}");
        assert!(!error.contains("pku"), "ctb6 needs no PKU file: {error}");
    }

    #[test]
    fn every_model_lists_its_test_gold_among_its_train_arguments() {
        // A token-level model's test file is scored by `trainer eval --test` only.
        for model in MODELS.iter().filter(|model| !model.corpus.token_level()) {
            assert!(model.train_args.contains(&model.corpus.gold()), "{}", model.name);
            assert_eq!(model.corpus.words().is_some(), model.train_args.contains(&"--words"), "{}", model.name);
        }
    }
}
