//! Route matching as API Gateway HTTP APIs do it: `METHOD /path` route keys with
//! `{param}` segments, a greedy last `{proxy+}` segment, the `ANY` method and a
//! `$default` catch-all. The most specific route wins: segment by segment a
//! literal beats `{param}`, which beats `{proxy+}`; then an exact method beats
//! `ANY`; `$default` only when nothing else matches.

use std::cmp::Ordering;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
    Greedy(String),
}

impl Segment {
    fn rank(&self) -> u8 {
        match self {
            Self::Literal(_) => 0,
            Self::Param(_) => 1,
            Self::Greedy(_) => 2,
        }
    }
}

#[derive(Debug)]
struct Route<T> {
    key: String,
    /// `None` for `ANY`.
    method: Option<String>,
    segments: Vec<Segment>,
    target: T,
}

#[derive(Debug)]
pub struct Router<T> {
    routes: Vec<Route<T>>,
    default: Option<(String, T)>,
}

/// A matched route: its key, its target and the decoded path parameters.
#[derive(Debug, PartialEq, Eq)]
pub struct Match<'a, T> {
    pub route_key: &'a str,
    pub target: &'a T,
    pub path_parameters: BTreeMap<String, String>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct RouteError(pub String);

impl std::fmt::Display for RouteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RouteError {}

const METHODS: [&str; 8] = [
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY",
];

fn parse_segments(key: &str, path: &str) -> Result<Vec<Segment>, RouteError> {
    let bad = |why: &str| RouteError(format!("route '{key}': {why}"));
    let rest = path
        .strip_prefix('/')
        .ok_or_else(|| bad("path must start with '/'"))?;
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    let parts: Vec<&str> = rest.split('/').collect();
    let mut segments = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        let segment = match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(name) => match name.strip_suffix('+') {
                Some(name) if i + 1 == parts.len() && !name.is_empty() => {
                    Segment::Greedy(name.to_owned())
                }
                Some(_) => return Err(bad("a greedy {name+} must be the last segment")),
                None if !name.is_empty() && !name.contains(['{', '}']) => {
                    Segment::Param(name.to_owned())
                }
                None => return Err(bad("bad path variable")),
            },
            None if part.contains(['{', '}']) => {
                return Err(bad("a path variable must be a whole segment"));
            }
            None if part.is_empty() => return Err(bad("empty path segment")),
            None => Segment::Literal((*part).to_owned()),
        };
        segments.push(segment);
    }
    Ok(segments)
}

/// `%XX` decoding; invalid escapes stay as written.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

impl<T> Router<T> {
    /// Routes from `(route key, target)` pairs; keys are `$default` or
    /// `METHOD /path`. Two routes with the same key are an error, as in API Gateway.
    pub fn new(routes: impl IntoIterator<Item = (String, T)>) -> Result<Self, RouteError> {
        let mut router = Self {
            routes: Vec::new(),
            default: None,
        };
        for (key, target) in routes {
            if key == "$default" {
                if router.default.is_some() {
                    return Err(RouteError("two $default routes".into()));
                }
                router.default = Some((key, target));
                continue;
            }
            let (method, path) = key
                .split_once(' ')
                .ok_or_else(|| RouteError(format!("route '{key}': expected 'METHOD /path'")))?;
            if !METHODS.contains(&method) {
                return Err(RouteError(format!(
                    "route '{key}': method must be one of {}",
                    METHODS.join(", ")
                )));
            }
            let segments = parse_segments(&key, path)?;
            let method = (method != "ANY").then(|| method.to_owned());
            if router
                .routes
                .iter()
                .any(|r| r.method == method && r.segments == segments)
            {
                return Err(RouteError(format!("route '{key}' is declared twice")));
            }
            router.routes.push(Route {
                key,
                method,
                segments,
                target,
            });
        }
        Ok(router)
    }

    /// Every route key, `$default` last.
    pub fn keys(&self) -> impl Iterator<Item = (&str, &T)> {
        self.routes
            .iter()
            .map(|r| (r.key.as_str(), &r.target))
            .chain(self.default.iter().map(|(k, t)| (k.as_str(), t)))
    }

    /// The route API Gateway would pick for `method` and the raw (still
    /// percent-encoded) request path.
    pub fn find(&self, method: &str, raw_path: &str) -> Option<Match<'_, T>> {
        let parts: Vec<&str> = match raw_path.strip_prefix('/') {
            Some("") => Vec::new(),
            Some(rest) => rest.split('/').collect(),
            None => return self.fallback(),
        };
        let mut best: Option<(&Route<T>, BTreeMap<String, String>)> = None;
        for route in &self.routes {
            if route.method.as_deref().is_some_and(|m| m != method) {
                continue;
            }
            let Some(params) = matches(&route.segments, &parts) else {
                continue;
            };
            let better = match &best {
                None => true,
                Some((current, _)) => more_specific(route, current) == Ordering::Less,
            };
            if better {
                best = Some((route, params));
            }
        }
        match best {
            Some((route, path_parameters)) => Some(Match {
                route_key: &route.key,
                target: &route.target,
                path_parameters,
            }),
            None => self.fallback(),
        }
    }

    fn fallback(&self) -> Option<Match<'_, T>> {
        self.default.as_ref().map(|(key, target)| Match {
            route_key: key,
            target,
            path_parameters: BTreeMap::new(),
        })
    }
}

fn matches(segments: &[Segment], parts: &[&str]) -> Option<BTreeMap<String, String>> {
    let mut params = BTreeMap::new();
    for (i, segment) in segments.iter().enumerate() {
        match segment {
            Segment::Greedy(name) => {
                let rest = parts.get(i..)?.join("/");
                if rest.is_empty() {
                    return None;
                }
                params.insert(name.clone(), percent_decode(&rest));
                return Some(params);
            }
            Segment::Literal(literal) => {
                let part = parts.get(i)?;
                if *part != literal && percent_decode(part) != *literal {
                    return None;
                }
            }
            Segment::Param(name) => {
                let part = parts.get(i).filter(|p| !p.is_empty())?;
                params.insert(name.clone(), percent_decode(part));
            }
        }
    }
    (parts.len() == segments.len()).then_some(params)
}

/// `Less` when `a` is the more specific route.
fn more_specific<T>(a: &Route<T>, b: &Route<T>) -> Ordering {
    for (x, y) in a.segments.iter().zip(&b.segments) {
        match x.rank().cmp(&y.rank()) {
            Ordering::Equal => {}
            other => return other,
        }
    }
    // Same shape so far: the longer route matched more literal/param
    // segments before any greedy one.
    b.segments
        .len()
        .cmp(&a.segments.len())
        .then_with(|| match (&a.method, &b.method) {
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            _ => Ordering::Equal,
        })
}
