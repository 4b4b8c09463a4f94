//! The README is the front door: short enough to read, pointing at a page
//! per API under `docs/`, and every curl transcript there names a route the
//! service really serves, so a newcomer's first requests do not 404.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_yaml::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// README.md, then every page under `docs/`.
fn pages() -> Vec<PathBuf> {
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo().join("docs"))
        .expect("docs/ exists")
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    docs.sort();
    assert!(docs.len() >= 9, "a page per API: {docs:?}");
    let mut pages = vec![repo().join("README.md")];
    pages.extend(docs);
    pages
}

/// The lines outside fenced code blocks, and the fenced blocks with their
/// language (`sh`, `python`, …).
fn split(text: &str) -> (Vec<&str>, Vec<(String, Vec<&str>)>) {
    let mut prose = Vec::new();
    let mut blocks: Vec<(String, Vec<&str>)> = Vec::new();
    let mut open: Option<(String, Vec<&str>)> = None;
    for line in text.lines() {
        if let Some(fence) = line.trim_start().strip_prefix("```") {
            match open.take() {
                Some(block) => blocks.push(block),
                None => open = Some((fence.trim().to_string(), Vec::new())),
            }
        } else if let Some((_, lines)) = open.as_mut() {
            lines.push(line);
        } else {
            prose.push(line);
        }
    }
    assert!(open.is_none(), "every code block is closed");
    (prose, blocks)
}

/// The anchors GitHub gives a page's headings: lower case, spaces as
/// hyphens, punctuation dropped (a repeated heading gets `-1`, `-2`, …).
fn anchors(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in split(text).0 {
        let Some(heading) = line.strip_prefix('#') else {
            continue;
        };
        let slug: String = heading
            .trim_start_matches('#')
            .trim()
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                '-' | '_' => Some(c),
                c if c.is_alphanumeric() => Some(c.to_lowercase().next().unwrap_or(c)),
                _ => None,
            })
            .collect();
        let mut unique = slug.clone();
        let mut n = 0;
        while !found.insert(unique.clone()) {
            n += 1;
            unique = format!("{slug}-{n}");
        }
    }
    found
}

/// The targets of the page's Markdown links (`[text](target)`), outside code.
fn links(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in split(text).0 {
        let mut rest = line;
        while let Some(start) = rest.find("](") {
            rest = &rest[start + 2..];
            let end = rest.find(')').unwrap_or(rest.len());
            found.push(rest[..end].to_string());
            rest = &rest[end..];
        }
    }
    found
}

/// A link that stays in the repository: the file it names exists and, when
/// it names a heading, that heading is there.
fn check_link(page: &Path, target: &str) -> Result<(), String> {
    if target.starts_with("http://") || target.starts_with("https://") {
        return Ok(());
    }
    let (file, anchor) = target.split_once('#').unwrap_or((target, ""));
    let file = if file.is_empty() {
        page.to_path_buf()
    } else {
        page.parent().expect("a page's folder").join(file)
    };
    if !file.exists() {
        return Err(format!("{}: {target} names no file", page.display()));
    }
    if !anchor.is_empty() && !anchors(&read(&file)).contains(anchor) {
        return Err(format!("{}: {target} names no heading", page.display()));
    }
    Ok(())
}

#[test]
fn the_readme_is_at_most_300_lines() {
    let lines = read(&repo().join("README.md")).lines().count();
    assert!(lines <= 300, "README.md has {lines} lines");
}

#[test]
fn the_readme_links_every_docs_page_and_every_link_resolves() {
    let readme_path = repo().join("README.md");
    let readme = read(&readme_path);
    let linked: BTreeSet<PathBuf> = links(&readme)
        .iter()
        .map(|target| target.split('#').next().unwrap_or_default())
        .filter(|file| file.starts_with("docs/"))
        .map(|file| repo().join(file))
        .collect();
    let mut problems = Vec::new();
    for page in pages().iter().skip(1) {
        if !linked.contains(page) {
            problems.push(format!("README.md does not link {}", page.display()));
        }
    }
    for page in pages() {
        for target in links(&read(&page)) {
            if let Err(problem) = check_link(&page, &target) {
                problems.push(problem);
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn a_broken_link_or_heading_is_seen() {
    let readme = repo().join("README.md");
    assert!(check_link(&readme, "docs/intents.md").is_ok());
    assert!(check_link(&readme, "#the-two-commands").is_ok());
    assert!(check_link(&readme, "docs/no-such-page.md").is_err());
    assert!(check_link(&readme, "#no-such-heading").is_err());
    let headings = anchors("# OTP payment intents API — `intents` (Bearer JWT)\n## Deliveries\n");
    assert!(headings.contains("otp-payment-intents-api--intents-bearer-jwt"));
    assert!(headings.contains("deliveries"));
}

/// Every route the template serves, as `/a/{x}/b` split into segments.
fn template_routes() -> Vec<Vec<String>> {
    let template: Value =
        serde_yaml::from_str(&read(&repo().join("template.yaml"))).expect("template.yaml parses");
    let mut routes = Vec::new();
    for resource in template["Resources"]
        .as_mapping()
        .expect("resources")
        .values()
    {
        let Some(events) = resource["Properties"]["Events"].as_mapping() else {
            continue;
        };
        for event in events.values() {
            if let Some(path) = event["Properties"]["Path"].as_str() {
                routes.push(segments(path));
            }
        }
    }
    assert!(
        routes.len() >= 30,
        "the template's routes: {}",
        routes.len()
    );
    routes
}

fn segments(path: &str) -> Vec<String> {
    path.trim_start_matches('/')
        .split('/')
        .map(str::to_string)
        .collect()
}

/// A path from a transcript fits a route when each segment is the route's
/// own word, or fills one of its `{parameters}` (a shell variable or a
/// placeholder fills only a parameter).
fn fits(path: &[String], route: &[String]) -> bool {
    path.len() == route.len()
        && path.iter().zip(route).all(|(given, declared)| {
            (declared.starts_with('{') && !given.is_empty())
                || (given == declared && !given.contains('$'))
        })
}

/// The request paths in a code block: what follows `$API`, and every
/// `/api/…` path (the partner transcript builds its path before signing it).
fn request_paths(line: &str) -> Vec<String> {
    let end = |s: &str| {
        s.find(|c: char| c.is_whitespace() || "\"'?),\\`".contains(c))
            .unwrap_or(s.len())
    };
    let mut found = Vec::new();
    for (i, _) in line.match_indices("$API") {
        let rest = &line[i + 4..];
        if rest.starts_with('/') {
            found.push(rest[..end(rest)].to_string());
        }
    }
    for (i, _) in line.match_indices("/api/") {
        // A path of its own, not the tail of `$API/api/…` or of a file name.
        if !line[..i]
            .chars()
            .next_back()
            .is_none_or(|c| c.is_whitespace() || "=\"'(".contains(c))
        {
            continue;
        }
        let rest = &line[i..];
        found.push(rest[..end(rest)].to_string());
    }
    found
}

#[test]
fn every_path_the_transcripts_request_is_a_route_of_the_template() {
    let routes = template_routes();
    let mut seen = 0;
    let mut unknown = Vec::new();
    for page in pages() {
        for (language, lines) in split(&read(&page)).1 {
            if language != "sh" && language != "python" {
                continue; // a layout or an answer, not a transcript
            }
            for line in lines {
                for path in request_paths(line) {
                    seen += 1;
                    let given = segments(&path);
                    if !routes.iter().any(|route| fits(&given, route)) {
                        unknown.push(format!("{}: {path}", page.display()));
                    }
                }
            }
        }
    }
    assert!(seen >= 50, "the transcripts are read: {seen} paths");
    assert!(unknown.is_empty(), "{unknown:#?}");
}

#[test]
fn a_path_the_template_does_not_serve_is_seen() {
    let routes = template_routes();
    let fits_any = |path: &str| routes.iter().any(|route| fits(&segments(path), route));
    assert!(fits_any("/payment/intents/$INTENT"));
    assert!(fits_any("/api/v1/payables/order/ORD-1001"));
    assert!(!fits_any("/api/v1/payables/order"));
    assert!(!fits_any("/api/v1/PaymentIntent/$ID"));
    assert!(!fits_any("/api/$VERSION/events"));
    assert_eq!(
        request_paths(r#"curl -s "$API$P" -H "x: $API/ignored" && P=/api/v1/x/$Y tests/api/a.rs"#),
        vec!["/ignored".to_string(), "/api/v1/x/$Y".to_string()]
    );
}
