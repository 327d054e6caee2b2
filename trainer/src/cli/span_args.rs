//! The span options `segment` and `eval` share: a user dictionary and forced spans on or off.

use std::path::PathBuf;

use anyhow::{anyhow, Context as _, Result};
use clap::Args;

/// `--user-dict FILE` and `--no-forced-spans`.
#[derive(Debug, Clone, Default, Args)]
pub struct SpanArgs {
    /// Words to keep whole, one per line (UTF-8, no white space, at most 32 characters each). `segment`
    /// also takes it from CRF_USER_DICT, as the firmware's build does.
    #[arg(long, value_name = "FILE")]
    pub user_dict: Option<PathBuf>,
    /// Let the model alone split numbers, URLs and e-mail addresses (by default numbers are never split
    /// inside and URLs and e-mail addresses come out as one word).
    #[arg(long)]
    pub no_forced_spans: bool,
}

impl SpanArgs {
    /// The user dictionary file's bytes ("CRFd", built from the word list), if one was given; errors
    /// name the file and line.
    pub fn dictionary_bytes(&self) -> Result<Option<Vec<u8>>> {
        let Some(path) = &self.user_dict else { return Ok(None) };
        let list = std::fs::read(path).with_context(|| format!("reading the user dictionary {}", path.display()))?;
        let bytes = decoder::build_dictionary(&list).map_err(|e| anyhow!("{}: {}", path.display(), e))?;
        Ok(Some(bytes))
    }

    /// The span rules, with the dictionary loaded from `bytes` (see [`Self::dictionary_bytes`]).
    pub fn rules<'d>(&self, dictionary: Option<&'d decoder::Dictionary<'d>>) -> decoder::SpanRules<'d> {
        decoder::SpanRules { dictionary, forced_spans: !self.no_forced_spans }
    }
}

/// The environment variable naming the firmware's user dictionary (its build.rs reads it too).
pub const USER_DICT_VARIABLE: &str = "CRF_USER_DICT";

impl SpanArgs {
    /// These options with `--user-dict` taken from `CRF_USER_DICT` when not given, so that `trainer
    /// segment` segments as a firmware built in the same environment does.
    pub fn or_environment(&self) -> Self {
        let from_env = std::env::var_os(USER_DICT_VARIABLE).filter(|v| !v.is_empty()).map(PathBuf::from);
        Self { user_dict: self.user_dict.clone().or(from_env), no_forced_spans: self.no_forced_spans }
    }
}

/// Loads dictionary bytes built by [`SpanArgs::dictionary_bytes`].
pub fn load_dictionary(bytes: Option<&[u8]>) -> Result<Option<decoder::Dictionary<'_>>> {
    bytes.map(|b| decoder::Dictionary::from_bytes(b).map_err(|e| anyhow!("user dictionary: {e}"))).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_list_errors_name_the_file_and_line() {
        let dir = std::env::temp_dir().join(format!("crf-user-dict-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("words.txt");
        std::fs::write(&path, "北京\n新 词\n").unwrap();
        let args = SpanArgs { user_dict: Some(path.clone()), no_forced_spans: false };
        let error = args.dictionary_bytes().unwrap_err().to_string();
        assert_eq!(error, format!("{}: line 2: white space inside a word", path.display()));
        std::fs::write(&path, "北京\n北京大学\n").unwrap();
        let bytes = args.dictionary_bytes().unwrap();
        let dictionary = load_dictionary(bytes.as_deref()).unwrap().unwrap();
        assert!(dictionary.contains("北京大学"));
        let missing = SpanArgs { user_dict: Some(dir.join("absent.txt")), no_forced_spans: true };
        assert!(missing.dictionary_bytes().unwrap_err().to_string().contains("absent.txt"));
        assert!(!missing.rules(None).forced_spans);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
