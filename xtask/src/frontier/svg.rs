//! `frontier.svg`: F1 against model bytes, drawn with plotters.

use std::collections::BTreeSet;

use anyhow::{ensure, Result};
use plotters::prelude::*;

use crate::util::group_digits;

use super::{
    plan::{Budget, WordTags, KIB, MIB},
    report::FrontierReport,
};

/// A byte count on the plot's log axis: `64 KiB`, `16 MiB`.
fn axis_bytes(bytes: &f64) -> String {
    let bytes = bytes.round() as u64;
    if bytes >= MIB {
        format!("{:.0} MiB", bytes as f64 / MIB as f64)
    } else if bytes >= KIB {
        format!("{:.0} KiB", bytes as f64 / KIB as f64)
    } else {
        format!("{bytes} B")
    }
}

/// The line colour of the `index`-th corpus.
fn series_color(index: usize) -> RGBColor {
    const COLORS: [RGBColor; 4] =
        [RGBColor(31, 119, 180), RGBColor(214, 39, 40), RGBColor(44, 160, 44), RGBColor(148, 103, 189)];
    COLORS[index % COLORS.len()]
}

/// `frontier.svg`: F1 (y) against model bytes (x, log scale), one line per
/// corpus with its points labelled by budget, and a vertical line where the
/// model room of the smallest board's flash ends.
///
/// The SVG backend writes text as `<text>` elements and plotters (without
/// its `ttf` feature) lays it out with estimated glyph widths, so no font
/// files are read.
pub fn render_svg(report: &FrontierReport) -> Result<String> {
    ensure!(!report.runs.is_empty(), "nothing to plot: no runs");
    let room = report.smallest_board().map(|board| (board, board.model_room(report.code_bytes)));
    let xs = report.runs.iter().map(|run| run.model_bytes as f64).chain(room.map(|(_, room)| room as f64));
    let (x_min, x_max) = xs.fold((f64::INFINITY, 0.0_f64), |(low, high), x| (low.min(x), high.max(x)));
    let f1s = report.runs.iter().map(|run| 100.0 * run.scores.f1);
    let (f1_min, f1_max) = f1s.fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), f1| (low.min(f1), high.max(f1)));
    let y_range = (f1_min - 1.0).floor().max(0.0)..(f1_max + 1.0).ceil().min(100.0);
    let x_range = (x_min.max(1.0) / 1.6)..(x_max * 1.6);

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 560)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let caption = if report.quick {
            "Accuracy-size frontier (quick smoke test: not comparable)"
        } else {
            "Accuracy-size frontier: test F1 of the quantized model"
        };
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(56)
            // Base 4: axis marks at 16 KiB, 64 KiB, 256 KiB, 1 MiB, ...
            .build_cartesian_2d(x_range.log_scale().base(4.0), y_range.clone())
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .x_desc("model file bytes (log scale)")
            .y_desc("F1 (%)")
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 16))
            // The log axis's light lines fall at uneven steps; its marks
            // (powers of 4) are enough. On F1, one light line per point.
            .x_max_light_lines(0)
            .y_max_light_lines(1)
            .x_label_formatter(&axis_bytes)
            .y_label_formatter(&|f1| format!("{f1:.0}"))
            .draw()
            .map_err(plot_error)?;

        if let Some((board, room)) = room {
            let limit = RGBColor(120, 120, 120);
            let label = format!(
                "{} flash {} B - code {} B = {} B for the model",
                board.board,
                group_digits(board.flash_bytes),
                group_digits(report.code_bytes),
                group_digits(room)
            );
            chart
                .draw_series(LineSeries::new(
                    [(room as f64, y_range.start), (room as f64, y_range.end)],
                    limit.stroke_width(2),
                ))
                .map_err(plot_error)?
                .label(label)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], limit.stroke_width(2)));
        }

        for (index, corpus) in report.corpora().into_iter().enumerate() {
            let color = series_color(index);
            // Each budget is labelled once, at its first point (4 tags; the
            // unlimited model only has the 6-tag one).
            let mut labelled = BTreeSet::new();
            for tags in WordTags::ALL {
                let mut points: Vec<(f64, f64, Budget)> = report
                    .runs_of(corpus)
                    .filter(|run| run.word_tags == tags)
                    .map(|run| (run.model_bytes as f64, 100.0 * run.scores.f1, run.budget))
                    .collect();
                if points.is_empty() {
                    continue;
                }
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                let coordinates = points.iter().map(|&(x, y, _)| (x, y));
                let label = format!("{} test, {} ({})", corpus.title(), tags.label(), tags.name());
                // 6 tags: solid line, filled markers; 4 tags: dashed, hollow.
                let solid = tags == WordTags::Bmes6;
                let series = if solid {
                    chart.draw_series(LineSeries::new(coordinates, color.stroke_width(2)))
                } else {
                    chart.draw_series(DashedLineSeries::new(coordinates, 8, 5, color.stroke_width(2)))
                };
                series.map_err(plot_error)?.label(label).legend(move |(x, y)| {
                    let segment = |from: i32, to: i32| PathElement::new([(from, 0), (to, 0)], color.stroke_width(2));
                    // Two segments either way (one type): touching, or with a gap.
                    let gap = if solid { 0 } else { 4 };
                    EmptyElement::at((x, y)) + segment(0, 10 - gap / 2) + segment(10 + gap / 2, 20)
                });
                chart
                    .draw_series(points.iter().enumerate().map(|(index, &(x, y, budget))| {
                        let marker = if solid {
                            Circle::new((0, 0), 4, color.filled())
                        } else {
                            Circle::new((0, 0), 4, color.stroke_width(2))
                        };
                        // Labels alternate above and below their points, so
                        // that neighbours with nearly the same size (128K,
                        // 160K) do not print over each other.
                        let label_offset = if index % 2 == 0 { (6, -18) } else { (6, 6) };
                        let text = if labelled.insert(budget) { budget.to_string() } else { String::new() };
                        EmptyElement::at((x, y))
                            + marker
                            + Text::new(text, label_offset, ("sans-serif", 14).into_font().color(&color))
                    }))
                    .map_err(plot_error)?;
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font(("sans-serif", 15))
            .draw()
            .map_err(plot_error)?;
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}

/// plotters' errors borrow the backend's error type; keep their message.
fn plot_error(error: impl std::error::Error) -> anyhow::Error {
    anyhow::anyhow!("plotting: {error}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontier::report::tests::sample_report;

    /// The contents of the SVG's `<text>` elements, trimmed.
    fn svg_texts(svg: &str) -> Vec<&str> {
        svg.split("<text")
            .skip(1)
            .filter_map(|element| Some(element.split_once('>')?.1.split_once("</text>")?.0.trim()))
            .collect()
    }

    #[test]
    fn the_plot_has_a_line_per_corpus_and_tag_set_labelled_points_and_the_flash_limit() {
        let svg = render_svg(&sample_report()).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(200)]);
        assert!(svg.trim_end().ends_with("</svg>"));
        let texts = svg_texts(&svg);
        for expected in [
            "Accuracy-size frontier: test F1 of the quantized model",
            "PKU test, 4 tags (bmes)",
            "PKU test, 6 tags (bmes6)",
            "CTB6 test, 4 tags (bmes)",
            "lm3s6965evb flash 262,144 B - code 41,000 B = 221,144 B for the model",
            // The points' budget labels.
            "160K",
            "unlimited",
            "256K",
            // Log axis with base 4: 256 KiB and 1 MiB are marks.
            "256 KiB",
            "1 MiB",
            "F1 (%)",
        ] {
            assert!(texts.contains(&expected), "no text `{expected}` in {texts:?}");
        }
        // CTB6 has no 6-tag run here: no empty series in the legend.
        assert!(!texts.contains(&"CTB6 test, 6 tags (bmes6)"));
        // Each budget is labelled once per corpus, though PKU 160K has two points.
        assert_eq!(texts.iter().filter(|text| **text == "160K").count(), 1);
        assert_eq!(svg.matches("<circle").count(), 4, "one marker per run");
        assert!(render_svg(&FrontierReport { runs: Vec::new(), ..sample_report() }).is_err());
    }
}
