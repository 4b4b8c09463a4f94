//! Local configuration: variables already set in the environment win, then
//! `.env` (your overrides, not committed), then `.env.example` (the defaults).

use std::path::Path;

/// In order of precedence, after the process environment.
pub const FILES: [&str; 2] = [".env", ".env.example"];

/// Loads the files under `root` into the process environment, each variable
/// only if not set yet; returns every key the files name, in file order.
///
/// Setting the environment is only sound while the process has one thread
/// (the reason `std::env::set_var` is unsafe), so call this first thing in
/// `main`, before any runtime starts.
pub fn load(root: &Path) -> Result<Vec<String>, String> {
    let mut keys = Vec::new();
    for file in FILES {
        let Some(entries) = entries(root, file)? else {
            continue;
        };
        for entry in entries {
            let (key, _) = entry?;
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        let path = root.join(file);
        dotenvy::from_path(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(keys)
}

/// The first non-empty value of `key` in `files` (under `root`, in order),
/// read without touching the process environment; files that do not exist
/// are skipped.
pub fn find(root: &Path, files: &[&str], key: &str) -> Result<Option<String>, String> {
    for file in files {
        for entry in entries(root, file)?.into_iter().flatten() {
            let (k, value) = entry?;
            if k == key && !value.trim().is_empty() {
                return Ok(Some(value));
            }
        }
    }
    Ok(None)
}

/// One `KEY=VALUE` line, or what is wrong with it.
type Entry = Result<(String, String), String>;

/// The `KEY=VALUE` entries of `file` under `root`, read one by one, each
/// error naming the file; `None` when there is no such file.
fn entries(root: &Path, file: &str) -> Result<Option<impl Iterator<Item = Entry>>, String> {
    let path = root.join(file);
    if !path.is_file() {
        return Ok(None);
    }
    let items = dotenvy::from_path_iter(&path);
    let named = move |e: dotenvy::Error| format!("{}: {e}", path.display());
    let items = items.map_err(&named)?;
    Ok(Some(items.map(move |item| item.map_err(&named))))
}

/// Sets `vars` in the process environment, replacing what is there. Same
/// rule as `load`: only before any other thread starts.
pub fn set(vars: &[(String, String)]) -> Result<(), String> {
    let mut text = String::new();
    for (key, value) in vars {
        text.push_str(&line(key, value)?);
    }
    dotenvy::from_read_override(text.as_bytes()).map_err(|e| format!("cannot set {text}: {e}"))
}

/// `KEY=VALUE` (single-quoted when the value needs it), as `.env` files and
/// cargo-lambda's `--env-file` read it.
pub fn line(key: &str, value: &str) -> Result<String, String> {
    if value.contains(['\n', '\r', '\'']) {
        return Err(format!(
            "{key}: a value with a newline or a quote cannot go in an env file"
        ));
    }
    let plain = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-.:/,@+=".contains(c));
    Ok(if plain {
        format!("{key}={value}\n")
    } else {
        format!("{key}='{value}'\n")
    })
}

#[cfg(test)]
mod tests {
    use super::line;

    #[test]
    fn quotes_only_values_that_need_it() {
        assert_eq!(
            line("URL", "http://127.0.0.1:8000").as_deref(),
            Ok("URL=http://127.0.0.1:8000\n")
        );
        assert_eq!(line("S", "a b#c").as_deref(), Ok("S='a b#c'\n"));
        assert!(line("S", "it's").is_err());
    }
}
