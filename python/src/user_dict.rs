//! The user dictionary a `Model` keeps: the words of every `load_userdict` file so far, compiled into one
//! decoder dictionary ("CRFd" bytes and the decoder's view of them), replaced whole when a file is added.

use std::path::Path;
use std::sync::{Arc, RwLock};

use anyhow::{anyhow, Context as _};
use self_cell::self_cell;

/// `decoder::Dictionary` under a name with one lifetime parameter, as `self_cell!` wants it.
type DecoderDictionary<'bytes> = decoder::Dictionary<'bytes>;

self_cell!(
    /// Compiled dictionary bytes and the decoder's view of them, built once per change.
    pub struct CompiledDictionary {
        owner: Vec<u8>,
        #[covariant]
        dependent: DecoderDictionary,
    }
);

/// The word lists added so far and their compiled dictionary, shared by the calls that segment.
#[derive(Default)]
pub struct UserDictionary {
    /// The word lists, each ending with a line break.
    words: RwLock<(Vec<u8>, Option<Arc<CompiledDictionary>>)>,
}

impl UserDictionary {
    /// The current dictionary, if any word was added (cheap: one reference count).
    pub fn current(&self) -> Option<Arc<CompiledDictionary>> {
        self.words.read().unwrap_or_else(std::sync::PoisonError::into_inner).1.clone()
    }

    /// Adds the words of the word-list file at `path` (one word a line). Errors name the file, and the line
    /// for a bad word; nothing changes then.
    pub fn add_file(&self, path: &Path) -> anyhow::Result<()> {
        let list = std::fs::read(path).with_context(|| format!("reading the user dictionary {}", path.display()))?;
        // The file alone first, so that an error's line number is the file's own.
        decoder::build_dictionary(&list).map_err(|e| anyhow!("{}: {}", path.display(), e))?;
        let mut guard = self.words.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut combined = guard.0.clone();
        combined.extend_from_slice(&list);
        if !combined.ends_with(b"\n") {
            combined.push(b'\n');
        }
        let bytes = decoder::build_dictionary(&combined).map_err(|e| anyhow!("{}: {}", path.display(), e))?;
        let compiled = CompiledDictionary::try_new(bytes, |bytes| decoder::Dictionary::from_bytes(bytes))
            .map_err(|e| anyhow!("{}: user dictionary: {}", path.display(), e))?;
        *guard = (combined, Some(Arc::new(compiled)));
        Ok(())
    }
}
