//! Layers point one way: the use cases, their ports and the domain never name
//! what sits above them (the API surfaces, or the wiring from the environment),
//! and the domain names nothing of the crate beyond itself.

use std::fs;
use std::path::{Path, PathBuf};

/// Layers that may name neither the surfaces nor the environment's wiring.
const BELOW_THE_SURFACES: &[&str] = &["domain", "ports", "app", "http"];
const ABOVE_THE_USE_CASES: &[&str] = &["runtime", "surfaces"];

/// What the domain may not name: everything of the crate but itself.
const OUTSIDE_THE_DOMAIN: &[&str] = &[
    "ports", "adapters", "app", "http", "runtime", "surfaces", "auth",
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`; a folder that cannot be read fails the test
/// rather than passing over what it holds.
pub(crate) fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

/// The source without its comments, so a doc comment may still tell where a
/// value comes from.
fn code(source: &str) -> String {
    source
        .lines()
        .map(|line| line.split_once("//").map_or(line, |(code, _)| code))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every module of the crate root that `code` names through `crate::`, grouped
/// imports (`crate::{app, ports::Clock}`) included.
fn crate_modules_named(code: &str) -> Vec<String> {
    let mut named = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        // `$crate::` is a macro's own crate, named the same way.
        rest = rest[at + "crate::".len()..].trim_start();
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        named.push(first_segment(&group[start..i]));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        named.push(first_segment(&group[start..i]));
                        start = i + 1;
                    }
                    _ => {}
                }
            }
        } else {
            named.push(first_segment(rest));
        }
    }
    named.retain(|name| !name.is_empty());
    named
}

fn first_segment(path: &str) -> String {
    path.trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// `file: crate::module` for each forbidden module a layer's files name.
fn violations(layers: &[&str], forbidden: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for layer in layers {
        let mut files = Vec::new();
        rust_files(&src().join(layer), &mut files);
        for file in files {
            let source = fs::read_to_string(&file).expect("a readable source file");
            for module in crate_modules_named(&code(&source)) {
                if forbidden.contains(&module.as_str()) {
                    let name = file.strip_prefix(src()).unwrap_or(&file).display();
                    found.push(format!("{name}: crate::{module}"));
                }
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

#[test]
fn use_cases_ports_and_domain_never_name_the_surfaces_or_the_wiring() {
    let found = violations(BELOW_THE_SURFACES, ABOVE_THE_USE_CASES);
    assert!(
        found.is_empty(),
        "layers naming those above:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_domain_names_nothing_beyond_itself() {
    let found = violations(&["domain"], OUTSIDE_THE_DOMAIN);
    assert!(
        found.is_empty(),
        "the domain naming other layers:\n{}",
        found.join("\n")
    );
}

#[test]
fn a_named_module_is_found_alone_grouped_or_nested() {
    let named = crate_modules_named(&code(
        "use crate::runtime::App;\n\
         use crate::{\n    app::App,\n    ports::{Clock, Stores},\n};\n\
         // crate::surfaces in a comment is only words\n\
         use crate::telemetry as _;\n\
         let x = crate::surfaces::events::list;",
    ));
    assert_eq!(named, ["runtime", "app", "ports", "telemetry", "surfaces"]);
}
