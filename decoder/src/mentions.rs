//! The mention list section of a token-level model (format version 8): checked at load, handed out as
//! text. The decoder does not compute the mention columns from it (the host does, see `trainer`'s
//! `mentions` module); it only guarantees that a loaded list has the documented shape.

use crate::limits::{MAX_MENTION_LIST_BYTES, MAX_MENTION_TOKENS, MENTION_COLUMNS};

/// Checks a mention list against the model's input `columns`: at most [`MAX_MENTION_LIST_BYTES`], more
/// columns than the [`MENTION_COLUMNS`] the list gives, and every line (separated by single `\n`, none
/// after the last; the empty text is the empty list) `TYPE<TAB>tokens`: a type without white space, a
/// TAB, then 1 to [`MAX_MENTION_TOKENS`] tokens without white space separated by single spaces.
///
/// The error is the 1-based number of the first bad line, or 0 for a list too long or too few columns.
pub(crate) fn check_mention_list(text: &str, columns: usize) -> Result<(), usize> {
    if text.len() > MAX_MENTION_LIST_BYTES || columns <= MENTION_COLUMNS {
        return Err(0);
    }
    if text.is_empty() {
        return Ok(());
    }
    let word = |w: &str| !w.is_empty() && !w.contains(char::is_whitespace);
    for (index, line) in text.split('\n').enumerate() {
        let shaped = line.split_once('\t').is_some_and(|(kind, mention)| {
            let tokens = mention.split(' ');
            word(kind) && tokens.clone().all(word) && tokens.count() <= MAX_MENTION_TOKENS
        });
        if !shaped {
            return Err(index + 1);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_mention_list;

    #[test]
    fn lines_must_be_type_tab_tokens() {
        assert_eq!(check_mention_list("", 4), Ok(()));
        assert_eq!(check_mention_list("PER\t张 三\nLOC\t北京", 4), Ok(()));
        // The mention columns need a column before them.
        assert_eq!(check_mention_list("PER\t张 三", 3), Err(0));
        for (text, line) in [
            ("PER\t张 三\n", 2),               // a final newline is an empty line
            ("PER\t张 三\nLOC 北京", 2),       // no TAB
            ("\t张", 1),                       // no type
            ("P R\t张", 1),                    // a type with a space
            ("PER\t张  三", 1),                // an empty token
            ("PER\t张\t三", 1),                // a TAB inside the mention
            ("PER\t", 1),                      // no token
            ("PER\ta b c d e f g h i j k", 1), // 11 tokens
        ] {
            assert_eq!(check_mention_list(text, 4), Err(line), "{text:?}");
        }
        assert_eq!(check_mention_list("PER\ta b c d e f g h i j", 4), Ok(()));
    }
}
