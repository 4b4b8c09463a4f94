//! The API Gateway HTTP API payload format 2.0 event a Lambda function receives.

use std::collections::BTreeMap;

use base64::Engine as _;
use lambda_http::http::HeaderMap;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::router::percent_decode;

/// What API Gateway knows about one request when it invokes the function.
pub struct EventInput<'a> {
    pub route_key: &'a str,
    pub method: &'a str,
    /// Path as sent, still percent-encoded.
    pub raw_path: &'a str,
    /// Query string as sent, without `?` (empty when none).
    pub raw_query: &'a str,
    pub path_parameters: &'a BTreeMap<String, String>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub source_ip: &'a str,
    /// `HTTP/1.1`
    pub protocol: &'a str,
    pub request_id: &'a str,
    pub api_id: &'a str,
    pub account_id: &'a str,
    pub now: OffsetDateTime,
}

/// Content types API Gateway passes through as text; other bodies arrive
/// base64-encoded with `isBase64Encoded: true`.
pub fn is_text_content_type(content_type: &str) -> bool {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    mime.starts_with("text/")
        || mime.ends_with("+json")
        || mime.ends_with("+xml")
        || mime.ends_with("+yaml")
        || matches!(
            mime.as_str(),
            "application/json"
                | "application/xml"
                | "application/javascript"
                | "application/yaml"
                | "application/x-yaml"
                | "application/x-www-form-urlencoded"
                | "application/graphql"
        )
}

/// Query string decoding for `queryStringParameters`: `+` is a space, `%XX` a byte.
fn decode_query_component(s: &str) -> String {
    percent_decode(&s.replace('+', " "))
}

/// `queryStringParameters`: decoded, repeated names joined with commas.
pub fn query_string_parameters(raw_query: &str) -> BTreeMap<String, String> {
    let mut params: BTreeMap<String, String> = BTreeMap::new();
    for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (name, value) = (decode_query_component(name), decode_query_component(value));
        params
            .entry(name)
            .and_modify(|v| {
                v.push(',');
                v.push_str(&value);
            })
            .or_insert(value);
    }
    params
}

/// `headers` (lower-case names, repeats joined with commas, `cookie` left out)
/// and `cookies` (the `cookie` header split at `;`).
pub fn headers_and_cookies(headers: &HeaderMap) -> (Map<String, Value>, Vec<String>) {
    let mut out = Map::new();
    let mut cookies = Vec::new();
    for name in headers.keys() {
        let values: Vec<String> = headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        if name == lambda_http::http::header::COOKIE {
            cookies.extend(
                values
                    .iter()
                    .flat_map(|v| v.split(';'))
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned),
            );
        } else {
            out.insert(name.as_str().to_owned(), Value::String(values.join(",")));
        }
    }
    (out, cookies)
}

/// `12/Mar/2020:19:03:58 +0000`
pub fn request_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.format(time::macros::format_description!(
        "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000"
    ))
    .unwrap_or_default()
}

/// The event, as JSON.
pub fn build(input: &EventInput<'_>) -> Value {
    let (headers, cookies) = headers_and_cookies(input.headers);
    let user_agent = headers
        .get("user-agent")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let domain_name = headers
        .get("host")
        .and_then(Value::as_str)
        .unwrap_or("localhost")
        .to_owned();
    let domain_prefix = domain_name
        .split(['.', ':'])
        .next()
        .unwrap_or_default()
        .to_owned();
    let content_type = headers.get("content-type").and_then(Value::as_str);
    let mut event = json!({
        "version": "2.0",
        "routeKey": input.route_key,
        "rawPath": input.raw_path,
        "rawQueryString": input.raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": input.account_id,
            "apiId": input.api_id,
            "domainName": domain_name,
            "domainPrefix": domain_prefix,
            "http": {
                "method": input.method,
                "path": input.raw_path,
                "protocol": input.protocol,
                "sourceIp": input.source_ip,
                "userAgent": user_agent,
            },
            "requestId": input.request_id,
            "routeKey": input.route_key,
            "stage": "$default",
            "time": request_time(input.now),
            "timeEpoch": i64::try_from(input.now.unix_timestamp_nanos() / 1_000_000).unwrap_or_default(),
        },
        "isBase64Encoded": false,
    });
    let Some(object) = event.as_object_mut() else {
        return event;
    };
    if !cookies.is_empty() {
        object.insert("cookies".into(), json!(cookies));
    }
    let query = query_string_parameters(input.raw_query);
    if !query.is_empty() {
        object.insert("queryStringParameters".into(), json!(query));
    }
    if !input.path_parameters.is_empty() {
        object.insert("pathParameters".into(), json!(input.path_parameters));
    }
    if !input.body.is_empty() {
        let text = std::str::from_utf8(input.body)
            .ok()
            .filter(|_| content_type.is_none_or(is_text_content_type));
        let (body, base64) = match text {
            Some(text) => (text.to_owned(), false),
            None => (
                base64::engine::general_purpose::STANDARD.encode(input.body),
                true,
            ),
        };
        object.insert("body".into(), Value::String(body));
        object.insert("isBase64Encoded".into(), Value::Bool(base64));
    }
    event
}
