//! The decoder's modules form layers: each module reads only the modules listed before it in
//! `src/lib.rs`, so no module imports one that imports it.

use std::fs;
use std::path::Path;

/// The private modules of `src/lib.rs`, in the order they are declared.
fn declared_modules(lib: &str) -> Vec<String> {
    lib.lines().filter_map(|line| line.trim().strip_prefix("mod ")?.strip_suffix(';').map(str::to_owned)).collect()
}

/// The crate modules a source file names (`crate::x` or `super::x`), other than itself.
fn modules_named(source: &str, modules: &[String], itself: &str) -> Vec<String> {
    modules
        .iter()
        .filter(|module| module.as_str() != itself)
        .filter(|module| {
            let named = |prefix: &str| {
                source.match_indices(&format!("{prefix}::{module}")).any(|(at, found)| {
                    let next = source[at + found.len()..].chars().next();
                    !next.is_some_and(|c| c.is_alphanumeric() || c == '_')
                })
            };
            named("crate") || named("super")
        })
        .cloned()
        .collect()
}

#[test]
fn every_module_reads_only_the_modules_declared_before_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = fs::read_to_string(src.join("lib.rs")).unwrap();
    let modules = declared_modules(&lib);
    assert!(modules.len() >= 10, "src/lib.rs declares {modules:?}");
    let mut violations = Vec::new();
    for (layer, module) in modules.iter().enumerate() {
        let source = fs::read_to_string(src.join(format!("{module}.rs"))).unwrap();
        for named in modules_named(&source, &modules, module) {
            if modules.iter().position(|m| *m == named) > Some(layer) {
                violations.push(format!("{module} reads {named}, declared after it"));
            }
        }
    }
    assert!(violations.is_empty(), "{violations:#?}");
}

#[test]
fn a_module_naming_a_later_one_is_caught() {
    let modules: Vec<String> = ["hash", "model"].map(str::to_owned).to_vec();
    assert_eq!(modules_named("use crate::model::Model;", &modules, "hash"), ["model"]);
    assert!(modules_named("use crate::models_x;", &modules, "hash").is_empty());
}
