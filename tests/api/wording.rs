//! The repository speaks of the product in its own words: the APIs by their
//! names, never by the letters, numbers or section marks of the documents
//! the product was specified from.

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every text file of the repository, outside what builds and tools leave.
fn text_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            let generated = [
                "target",
                ".git",
                "node_modules",
                ".stack",
                ".aws-sam",
                ".schemathesis",
                ".venv",
            ];
            if !generated.contains(&name.as_str()) {
                text_files(&path, found);
            }
        } else if name != "Cargo.lock" {
            found.push(path);
        }
    }
}

/// Where `text` names an API or a rule by a letter, a number or a section
/// mark of the specification (built here from parts, so this file does not
/// name them itself).
fn foreign_names(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for word in [
        format!("{}{}", "Surface", " "),
        format!("{}{}", "surface", " "),
    ] {
        for (i, _) in text.match_indices(&word) {
            let mut rest = text[i + word.len()..].chars();
            if let (Some(letter), next) = (rest.next(), rest.next()) {
                let alone = next.is_none_or(|c| !c.is_alphanumeric());
                if ('A'..='H').contains(&letter) && alone {
                    found.push(format!("surface {letter}"));
                }
            }
        }
    }
    for word in [format!("{}{}", "Seed", " "), format!("{}{}", "seed", " ")] {
        for (i, _) in text.match_indices(&word) {
            if text[i + word.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
            {
                found.push("seed <n>".into());
            }
        }
    }
    let lower = text.to_lowercase();
    for phrase in [
        format!("{}{}", "the seed", "'s"),
        format!("{}{}", "SPEC ", "§"),
    ] {
        if lower.contains(&phrase.to_lowercase()) {
            found.push(phrase);
        }
    }
    found
}

#[test]
fn the_repository_names_apis_by_their_names() {
    let mut files = Vec::new();
    text_files(&repo(), &mut files);
    assert!(files.len() > 100, "the repository is read: {}", files.len());
    // The template's comments and the benchmark notes speak of the APIs too.
    for read in ["template.yaml", "BENCHMARKS.md", "bench/dynamodb-calls.md"] {
        assert!(
            files.iter().any(|f| f.ends_with(read)),
            "{read} is among the files read"
        );
    }
    let mut offenders = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue; // not text
        };
        let found = foreign_names(&text);
        if !found.is_empty() {
            offenders.push(format!("{}: {found:?}", file.display()));
        }
    }
    assert!(offenders.is_empty(), "{offenders:#?}");
}

#[test]
fn the_check_sees_each_foreign_name() {
    for text in [
        format!("# {}{}", "Surface", " G: the docs"),
        format!("as {}{}", "seed", " 002 says"),
        format!("The {}{}", "seed", "'s order"),
        format!("see {}{}2", "SPEC ", "§"),
    ] {
        assert!(!foreign_names(&text).is_empty(), "{text}");
    }
    for text in [
        "the surfaces module",
        "a surface area",
        "--seed",
        "seed_order",
    ] {
        assert!(foreign_names(text).is_empty(), "{text}");
    }
}

/// The `use` declarations in `text` that give an API's module a one-letter
/// name (`payments as b`): code names an API by its module's own name.
fn lettered_apis(text: &str) -> Vec<String> {
    let mut offset = 0;
    let mut decls = Vec::new();
    for line in text.split_inclusive('\n') {
        let start = offset + (line.len() - line.trim_start().len());
        offset += line.len();
        if line.trim_start().starts_with("use ") {
            decls.extend(text[start..].split(';').next());
        }
    }
    decls
        .into_iter()
        .filter(|decl| decl.contains("surfaces"))
        .flat_map(|decl| {
            decl.match_indices(" as ").filter_map(move |(i, _)| {
                let mut name = decl[i + 4..].chars();
                let (letter, next) = (name.next()?, name.next());
                let alone = next.is_none_or(|c| !c.is_alphanumeric() && c != '_');
                (letter.is_ascii_lowercase() && alone).then(|| decl.trim().to_owned())
            })
        })
        .collect()
}

#[test]
fn no_api_goes_by_a_letter_in_code() {
    let mut files = Vec::new();
    text_files(&repo(), &mut files);
    let mut offenders = Vec::new();
    for file in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "rs"))
    {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for decl in lettered_apis(&text) {
            offenders.push(format!("{}: use {decl}", file.display()));
        }
    }
    assert!(offenders.is_empty(), "{offenders:#?}");
}

#[test]
fn the_check_sees_an_api_by_a_letter() {
    let lettered = format!(
        "use payment_shared::{}::{{events, payments {} b}};",
        "surfaces", "as"
    );
    assert_eq!(lettered_apis(&lettered).len(), 1);
    for text in [
        "use payment_shared::surfaces::{events, payments};",
        "use payment_shared::surfaces::payments as payment_api;",
        "use std::io::Error as E;",
    ] {
        assert!(lettered_apis(text).is_empty(), "{text}");
    }
}
