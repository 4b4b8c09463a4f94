//! The routes of `template.yaml`, the single source of truth: every
//! `AWS::Serverless::Function` with its `Metadata.BuildProperties.Binary` and
//! the `Path`/`Method` of each of its `HttpApi` events.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_yaml::{Mapping, Value};

/// SAM's default function timeout when neither the function nor `Globals` sets one.
const SAM_DEFAULT_TIMEOUT_SECS: u64 = 3;

#[derive(Debug)]
pub struct TemplateError(pub String);

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "template: {}", self.0)
    }
}

impl std::error::Error for TemplateError {}

/// One `AWS::Serverless::Function` resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// The resource's logical id (`IntentsCreateFunction`).
    pub logical_id: String,
    /// `Metadata.BuildProperties.Binary` (`intents-create`).
    pub binary: String,
    /// `Properties.Timeout`, else `Globals.Function.Timeout`, else SAM's 3 s.
    pub timeout: Duration,
    /// Route keys of its `HttpApi` events: `POST /payment/intents`, `ANY /{proxy+}`
    /// or `$default` (an `HttpApi` event without `Path` and `Method`).
    pub routes: Vec<String>,
}

/// `template.yaml` at the repository root, wherever the binary runs from:
/// `./template.yaml` if present, else the one next to this crate's sources.
pub fn default_path() -> PathBuf {
    let here = PathBuf::from("template.yaml");
    if here.is_file() {
        here
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("template.yaml")
    }
}

pub fn load(path: &Path) -> Result<Vec<Function>, TemplateError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| TemplateError(format!("cannot read {}: {e}", path.display())))?;
    parse(&text)
}

fn get<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    value.as_mapping().and_then(|m| m.get(key))
}

fn literal_str(value: &Value, what: &str) -> Result<String, TemplateError> {
    value
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| TemplateError(format!("{what} must be a literal string, found {value:?}")))
}

fn timeout(value: Option<&Value>, what: &str) -> Result<Option<Duration>, TemplateError> {
    match value {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .filter(|s| *s > 0)
            .map(|s| Some(Duration::from_secs(s)))
            .ok_or_else(|| TemplateError(format!("{what} must be a positive integer"))),
    }
}

/// Every function of the template, in the order written.
pub fn parse(text: &str) -> Result<Vec<Function>, TemplateError> {
    let doc: Value =
        serde_yaml::from_str(text).map_err(|e| TemplateError(format!("not valid YAML: {e}")))?;
    let global_timeout = timeout(
        get(&doc, "Globals")
            .and_then(|g| get(g, "Function"))
            .and_then(|f| get(f, "Timeout")),
        "Globals.Function.Timeout",
    )?;
    let empty = Mapping::new();
    let resources = get(&doc, "Resources")
        .and_then(Value::as_mapping)
        .ok_or_else(|| TemplateError("no Resources".into()))?;
    let mut functions = Vec::new();
    for (id, resource) in resources {
        let logical_id = literal_str(id, "a resource id")?;
        if get(resource, "Type").and_then(Value::as_str) != Some("AWS::Serverless::Function") {
            continue;
        }
        let binary = get(resource, "Metadata")
            .and_then(|m| get(m, "BuildProperties"))
            .and_then(|b| get(b, "Binary"))
            .ok_or_else(|| {
                TemplateError(format!("{logical_id}: no Metadata.BuildProperties.Binary"))
            })
            .and_then(|b| literal_str(b, &format!("{logical_id}: Binary")))?;
        let properties = get(resource, "Properties");
        let timeout = timeout(
            properties.and_then(|p| get(p, "Timeout")),
            &format!("{logical_id}: Timeout"),
        )?
        .or(global_timeout)
        .unwrap_or(Duration::from_secs(SAM_DEFAULT_TIMEOUT_SECS));
        let events = properties
            .and_then(|p| get(p, "Events"))
            .and_then(Value::as_mapping)
            .unwrap_or(&empty);
        let mut routes = Vec::new();
        for (name, event) in events {
            if get(event, "Type").and_then(Value::as_str) != Some("HttpApi") {
                continue;
            }
            let what = format!("{logical_id}.Events.{}", name.as_str().unwrap_or("?"));
            let props = get(event, "Properties");
            let path = props.and_then(|p| get(p, "Path"));
            let method = props.and_then(|p| get(p, "Method"));
            routes.push(match (path, method) {
                (None, None) => "$default".to_owned(),
                (Some(path), method) => {
                    let path = literal_str(path, &format!("{what}: Path"))?;
                    let method = match method {
                        Some(m) => literal_str(m, &format!("{what}: Method"))?,
                        None => "ANY".to_owned(),
                    };
                    let method = method.to_ascii_uppercase();
                    if path == "$default" {
                        "$default".to_owned()
                    } else {
                        format!("{method} {path}")
                    }
                }
                (None, Some(_)) => {
                    return Err(TemplateError(format!("{what}: Method without Path")));
                }
            });
        }
        functions.push(Function {
            logical_id,
            binary,
            timeout,
            routes,
        });
    }
    Ok(functions)
}
