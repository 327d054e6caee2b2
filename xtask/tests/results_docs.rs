//! The README's headline table and docs/results.md must be exactly what
//! `cargo xtask results --render` makes of the committed measurement files:
//! a figure typed by hand, or a document not re-rendered after a
//! measurement, fails here.

use std::fs;

use xtask::{
    results::{python_speed::PYTHON_README, render_documents, FRONTIER_MARKDOWN, README, RESULTS_MARKDOWN},
    workspace_root,
};

/// The first line where `committed` and `rendered` differ, for the message.
fn first_difference(committed: &str, rendered: &str) -> String {
    let mut committed_lines = committed.lines();
    let mut rendered_lines = rendered.lines();
    for number in 1.. {
        match (committed_lines.next(), rendered_lines.next()) {
            (None, None) => break,
            (committed, rendered) if committed != rendered => {
                return format!("line {number}:\n  committed: {committed:?}\n  rendered:  {rendered:?}");
            }
            _ => {}
        }
    }
    "only in line endings".to_owned()
}

#[test]
fn committed_documents_equal_their_rendering_from_the_measurement_files() {
    let root = workspace_root();
    let rendered = render_documents(&root).expect("rendering from the committed JSON files");
    let frontier = rendered.frontier_markdown.as_ref().map(|markdown| (FRONTIER_MARKDOWN, markdown));
    for (relative, expected) in [
        (RESULTS_MARKDOWN, &rendered.results_markdown),
        (README, &rendered.readme),
        (PYTHON_README, &rendered.python_readme),
    ]
    .into_iter()
    .chain(frontier)
    {
        let committed = fs::read_to_string(root.join(relative)).expect(relative);
        assert!(
            committed == *expected,
            "{relative} differs from its rendering from docs/*.json ({}); run `cargo xtask results --render` \
             (figures come from the measuring commands, never by hand)",
            first_difference(&committed, expected)
        );
    }
}
