//! Small helpers that several commands share: UTC timestamps without a date
//! crate, the git commit a result was made at, and number formatting.

use std::{
    path::Path,
    process::Command,
    time::{SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, Result};

use crate::{process, workspace_root};

/// The calendar date of a day counted from 1970-01-01 (proleptic
/// Gregorian; Howard Hinnant's `civil_from_days`).
pub fn civil_date(days_since_epoch: u64) -> (u64, u64, u64) {
    let shifted = days_since_epoch + 719_468; // days from 0000-03-01
    let era = shifted / 146_097;
    let day_of_era = shifted % 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// A Unix time as `2023-11-14 22:13 UTC`.
pub fn utc_timestamp(unix_seconds: u64) -> String {
    let (year, month, day) = civil_date(unix_seconds / 86_400);
    let minutes_of_day = unix_seconds % 86_400 / 60;
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02} UTC", minutes_of_day / 60, minutes_of_day % 60)
}

/// The current time as [`utc_timestamp`] writes it.
pub fn now_utc() -> Result<String> {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).context("the clock is before 1970")?;
    Ok(utc_timestamp(since_epoch.as_secs()))
}

/// The commit the workspace is at, and whether its tracked files differ from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitState {
    /// `git rev-parse --short=12 HEAD`; `None`: not a git checkout.
    pub commit: Option<String>,
    /// Tracked files have uncommitted changes.
    pub dirty: bool,
}

impl GitState {
    /// Reads the workspace's state from git.
    pub fn of_workspace() -> Self {
        Self::of_workspace_ignoring(&[])
    }

    /// The same, but changes to the `ignored` files (paths relative to the
    /// workspace root) do not make it dirty: a command's own outputs, which
    /// cannot change what it measures.
    pub fn of_workspace_ignoring(ignored: &[&str]) -> Self {
        let git = |args: &[&str]| {
            // Read-only: no index refresh, which would take the index lock
            // that someone else's git command may be holding.
            process::stdout_of(
                Command::new("git").env("GIT_OPTIONAL_LOCKS", "0").current_dir(workspace_root()).args(args),
            )
        };
        let Some(commit) = git(&["rev-parse", "--short=12", "HEAD"]) else {
            return Self { commit: None, dirty: false };
        };
        let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
            .is_some_and(|changes| changes.lines().any(|line| !ignored.contains(&porcelain_path(line))));
        Self { commit: Some(commit), dirty }
    }

    /// One phrase: `0f889af12345`, `0f889af12345 (with uncommitted changes)`
    /// or `unknown (not a git checkout)`.
    pub fn describe(&self) -> String {
        match (&self.commit, self.dirty) {
            (None, _) => "unknown (not a git checkout)".to_owned(),
            (Some(commit), false) => commit.clone(),
            (Some(commit), true) => format!("{commit} (with uncommitted changes)"),
        }
    }
}

/// A path as commands and reports show it: the data directory as `$D`,
/// paths inside the workspace relative to its root.
pub fn shown_path(path: &Path, data_dir: &Path) -> String {
    let root = format!("{}/", workspace_root().display());
    path.display().to_string().replace(&data_dir.display().to_string(), "$D").replace(&root, "")
}

/// An integer with thousands separators: `131,304`.
pub fn group_digits(value: u64) -> String {
    let digits = value.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// Field readers for the JSON files the measuring commands write: each names the key it missed.
pub mod json {
    use anyhow::{bail, Context, Result};
    use serde_json::Value;

    /// The string at `key` of a JSON object.
    pub fn string(value: &Value, key: &str) -> Result<String> {
        value.get(key).and_then(Value::as_str).map(str::to_owned).with_context(|| format!("no string `{key}`"))
    }

    /// The unsigned integer at `key`.
    pub fn integer(value: &Value, key: &str) -> Result<u64> {
        value.get(key).and_then(Value::as_u64).with_context(|| format!("no integer `{key}`"))
    }

    /// The number at `key`.
    pub fn number(value: &Value, key: &str) -> Result<f64> {
        value.get(key).and_then(Value::as_f64).with_context(|| format!("no number `{key}`"))
    }

    /// The array at `key`.
    pub fn array<'a>(value: &'a Value, key: &str) -> Result<&'a Vec<Value>> {
        match value.get(key) {
            Some(Value::Array(items)) => Ok(items),
            _ => bail!("no array `{key}`"),
        }
    }
}

/// The path of a `git status --porcelain` line (`XY PATH`). The status
/// `X` may be a space, which trimming the output drops from the first line,
/// so the path is what follows the first run of spaces after the status.
fn porcelain_path(line: &str) -> &str {
    line.trim_start().split_once(' ').map_or("", |(_, path)| path.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_calendar_dates() {
        assert_eq!(utc_timestamp(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_timestamp(1_700_000_000), "2023-11-14 22:13 UTC");
        assert_eq!(utc_timestamp(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc_timestamp(4_107_542_399), "2100-02-28 23:59 UTC");
    }

    #[test]
    fn digits_are_grouped_by_thousands() {
        assert_eq!(group_digits(131_304), "131,304");
        assert_eq!(group_digits(25_166_186), "25,166,186");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(0), "0");
    }

    #[test]
    fn the_commit_phrase_says_when_the_tree_had_changes() {
        assert_eq!(porcelain_path(" M README.md"), "README.md");
        assert_eq!(porcelain_path("M README.md"), "README.md");
        assert_eq!(porcelain_path("MM docs/results.md"), "docs/results.md");
        let clean = GitState { commit: Some("0f889af12345".to_owned()), dirty: false };
        assert_eq!(clean.describe(), "0f889af12345");
        assert_eq!(GitState { dirty: true, ..clean }.describe(), "0f889af12345 (with uncommitted changes)");
        assert_eq!(GitState { commit: None, dirty: false }.describe(), "unknown (not a git checkout)");
    }
}
