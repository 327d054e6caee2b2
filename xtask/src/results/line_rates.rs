//! The serial line-rate table (`line_rates` of docs/firmware.json, written by
//! `cargo xtask firmware line-rate`), for docs/results.md and the README's
//! block between [`LINE_RATES_START`] and [`LINE_RATES_END`].

use std::fmt::Write;

use crate::measure::record::MeasurementFile;

/// The line that opens the README's line-rate block.
pub const LINE_RATES_START: &str = "<!-- results:line-rates -->";
/// The line that closes it.
pub const LINE_RATES_END: &str = "<!-- /results:line-rates -->";

/// `115,200` style.
fn baud(rate: Option<u32>) -> String {
    rate.map_or("—".to_owned(), |rate| {
        let digits = rate.to_string();
        let mut grouped = String::new();
        for (index, digit) in digits.chars().enumerate() {
            if index > 0 && (digits.len() - index) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        grouped
    })
}

/// How the input reached the timer, for the table (older records: UART0).
fn input_source(source: Option<&str>) -> &str {
    match source {
        Some("flash") => "flash",
        Some("semihosting") => "host file (semihosting)",
        Some("uart") | None => "UART0",
        Some(other) => other,
    }
}

/// The Markdown table, one row per board and model; empty without entries.
pub fn line_rate_table(firmware: &MeasurementFile) -> String {
    if firmware.line_rates.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "| board | core clock | input from | highest rate proven lossless | line idle at that rate | first rate above \
         that loses: input bytes lost (counted) | model | commit |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for entry in &firmware.line_rates {
        let lossy = match (entry.lossy_baud, entry.lossy_lost_bytes) {
            (Some(rate), Some(lost)) => format!("{}: {lost} of {}", baud(Some(rate)), entry.input_bytes),
            (Some(rate), None) => baud(Some(rate)),
            (None, _) => "— (none above)".to_owned(),
        };
        let _ = writeln!(
            out,
            "| {} ({}) | {} MHz | {} | {} | {} | {lossy} | `{}` | {}{} |",
            entry.board,
            entry.core,
            entry.core_clock_hz / 1_000_000,
            input_source(entry.input_source.as_deref()),
            baud(entry.sustained_baud),
            entry.sustained_idle_percent.map_or("—".to_owned(), |idle| format!("{idle:.1}%")),
            entry.model,
            entry.commit,
            if entry.dirty { " (dirty)" } else { "" }
        );
    }
    out
}

/// `readme` with its line-rate block replaced by `table`; unchanged if it has
/// no such block.
pub fn replace_line_rates(readme: &str, table: &str) -> String {
    super::render::replace_block(readme, LINE_RATES_START, LINE_RATES_END, table).unwrap_or_else(|| readme.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::record::LineRate;

    fn entry(board: &str, sustained: Option<u32>, lossy: Option<u32>, lost: Option<u64>) -> LineRate {
        LineRate {
            board: board.to_owned(),
            core: "Cortex-M3".to_owned(),
            core_clock_hz: 50_000_000,
            model: "models/default.crfm".to_owned(),
            model_sha256: "aa".to_owned(),
            input: "$D/icwb2/pku_test.utf8".to_owned(),
            input_bytes: 509_588,
            input_source: None,
            sustained_baud: sustained,
            sustained_idle_percent: Some(0.5),
            lossy_baud: lossy,
            lossy_lost_bytes: lost,
            commit: "0123456789ab".to_owned(),
            dirty: false,
            generated: "2026-12-05 08:00 UTC".to_owned(),
            measured_by: "cargo xtask firmware line-rate --board lm3s6965evb".to_owned(),
        }
    }

    #[test]
    fn the_table_gives_each_boards_rate_and_the_loss_above_it() {
        let mut file = MeasurementFile::default();
        assert_eq!(line_rate_table(&file), "");
        file.insert_line_rate(entry("lm3s6965evb", Some(460_800), Some(921_600), Some(15_194)));
        let mut flash_fed = entry("board-x", Some(921_600), None, None);
        flash_fed.input_source = Some("flash".to_owned());
        file.insert_line_rate(flash_fed);
        let mut semihosted = entry("board-y", Some(115_200), Some(230_400), Some(170_000));
        semihosted.input_source = Some("semihosting".to_owned());
        file.insert_line_rate(semihosted);
        let table = line_rate_table(&file);
        assert!(
            table.contains("| lm3s6965evb (Cortex-M3) | 50 MHz | UART0 | 460,800 | 0.5% | 921,600: 15194 of 509588 |"),
            "{table}"
        );
        assert!(table.contains("| flash | 921,600 | 0.5% | — (none above) |"), "{table}");
        assert!(table.contains("| host file (semihosting) | 115,200 | 0.5% | 230,400: 170000 of 509588 |"), "{table}");
    }

    #[test]
    fn the_readme_block_is_replaced_and_a_readme_without_one_is_kept() {
        let readme = "a\n<!-- results:line-rates -->\nold\n<!-- /results:line-rates -->\nb\n";
        let once = replace_line_rates(readme, "| t |\n");
        assert_eq!(once, "a\n<!-- results:line-rates -->\n| t |\n<!-- /results:line-rates -->\nb\n");
        assert_eq!(replace_line_rates(&once, "| t |\n"), once);
        assert_eq!(replace_line_rates("no block\n", "| t |\n"), "no block\n");
    }
}
