//! Only storage advances a stored aggregate's version: a conditional write
//! stores the change at one more than the version it expected and hands the
//! aggregate back at that version. The use cases never set it; were they to,
//! a write could expect a version nobody stored and lose every race, or win
//! one it should have lost.

use std::fs;

use crate::layers_test::rust_files;
use std::path::{Path, PathBuf};

/// Where a version may be set: the stores, and the intent's storage side
/// (`stored_as`, and the attempt reservation the table counts as a write).
/// Every other aggregate's changes keep the version they were read at.
const MAY_SET_VERSIONS: &[&str] = &[
    "shared/src/domain/intent.rs",
    "shared/src/adapters/memory/",
    "shared/src/adapters/dynamo/",
    // The storage decorator that fails the stores' calls hands back what they stored.
    "shared/src/adapters/faulty.rs",
];

/// What is scanned: the library, the local stack and the integration tests.
const SCANNED: &[&str] = &["shared/src", "local/src", "tests"];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace holds the library")
        .to_path_buf()
}

/// The source without its comments, and without a test module at its end: a
/// test may build an aggregate at the version its case needs.
fn code(source: &str) -> String {
    let source = source
        .split_once("#[cfg(test)]\nmod tests")
        .map_or(source, |(code, _)| code);
    source
        .lines()
        .map(|line| line.split_once("//").map_or(line, |(code, _)| code))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether `line` sets a version: assigns or adds to something named
/// `version`, or tells an aggregate the version it was stored at.
fn sets_version(line: &str) -> bool {
    if line.contains(".stored_as(") {
        return true;
    }
    line.match_indices("version").any(|(at, _)| {
        let before = line[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            return false;
        }
        let after = line[at + "version".len()..].trim_start();
        after.starts_with("+=")
            || (after.starts_with('=') && !after.starts_with("==") && !after.starts_with("=>"))
    })
}

/// `file:line: code` for every line outside the stores that sets a version.
fn setters_outside_the_stores() -> Vec<String> {
    let root = workspace();
    let mut files = Vec::new();
    for dir in SCANNED {
        rust_files(&root.join(dir), &mut files);
    }
    let mut found = Vec::new();
    for file in files {
        let name = file
            .strip_prefix(&root)
            .unwrap_or(&file)
            .display()
            .to_string()
            .replace('\\', "/");
        // This file names what it looks for.
        if MAY_SET_VERSIONS
            .iter()
            .any(|allowed| name.starts_with(allowed))
            || name.ends_with("versions_test.rs")
        {
            continue;
        }
        let source = fs::read_to_string(&file).expect("a readable source file");
        for (n, line) in code(&source).lines().enumerate() {
            if sets_version(line) {
                found.push(format!("{name}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn only_the_stores_set_a_version() {
    let found = setters_outside_the_stores();
    assert!(
        found.is_empty(),
        "versions set outside the stores:\n{}",
        found.join("\n")
    );
}

#[test]
fn a_setter_is_told_from_a_reader() {
    for setter in [
        "intent.version = expected.version + 1;",
        "next.version += 1;",
        "intent.stored_as(1);",
        "let version = 1;",
    ] {
        assert!(sets_version(setter), "{setter}");
    }
    for reader in [
        "assert_eq!(stored.version(), 1);",
        "if stored.version == expected.version {",
        "Expected { status, version: intent.version() }",
        "let v = intent.version();",
        "pub version: String,",
        "// intent.version = 1 in a comment is only words",
    ] {
        assert!(!sets_version(&code(reader)), "{reader}");
    }
    assert!(!sets_version("let conversion = 1;"));
}
