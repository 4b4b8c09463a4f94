//! The local gateway's contract with the rest of the repository, without the
//! local stack: template.yaml ⇄ functions/src/bin ⇄ payment_shared::routes,
//! API Gateway route matching, the v2 events it builds and renders, and the
//! sample events in events/. (Its end-to-end test over HTTP, which needs the
//! stack, is local/tests/gateway_e2e.rs: it runs the crate's own binaries.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use integration_tests::sample_events;
use lambda_http::http::HeaderMap;
use lambda_http::{Body, RequestExt};
use local_gateway::event::{self, EventInput};
use local_gateway::gateway::render;
use local_gateway::router::Router;
use local_gateway::template::{self, Function};
use payment_shared::routes;
use serde_json::{Value, json};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn functions() -> Vec<Function> {
    template::load(&repo().join("template.yaml")).expect("template.yaml parses")
}

fn binaries_on_disk() -> BTreeSet<String> {
    std::fs::read_dir(repo().join("functions/src/bin"))
        .expect("functions/src/bin")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .map(|p| {
            p.file_stem()
                .expect("file name")
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

fn template_router() -> Router<String> {
    Router::new(
        functions()
            .into_iter()
            .flat_map(|f| f.routes.into_iter().map(move |r| (r, f.binary.clone()))),
    )
    .expect("template routes are valid")
}

// --- (a) template.yaml, functions/src/bin and payment_shared::routes agree ---

#[test]
fn every_function_has_a_binary_and_a_handler_and_every_binary_a_function() {
    let functions = functions();
    let on_disk = binaries_on_disk();
    assert!(!functions.is_empty());
    let in_template: BTreeSet<String> = functions.iter().map(|f| f.binary.clone()).collect();
    assert_eq!(
        in_template.len(),
        functions.len(),
        "two functions build the same binary"
    );
    let background: BTreeSet<String> = routes::BACKGROUND_BINARIES
        .iter()
        .map(|b| (*b).to_owned())
        .collect();
    for f in &functions {
        assert!(
            on_disk.contains(&f.binary),
            "{}: functions/src/bin/{}.rs is missing",
            f.logical_id,
            f.binary
        );
        if background.contains(&f.binary) {
            // Fed by AWS (a stream, a schedule): no route reaches it.
            assert!(f.routes.is_empty(), "{} has an HttpApi event", f.logical_id);
            assert!(routes::handler(&f.binary).is_none(), "{}", f.binary);
            continue;
        }
        assert!(
            routes::handler(&f.binary).is_some(),
            "{} ({}) has no handler in payment_shared::routes",
            f.logical_id,
            f.binary
        );
        assert!(
            !f.routes.is_empty(),
            "{} has no HttpApi event",
            f.logical_id
        );
    }
    for binary in &on_disk {
        assert!(
            in_template.contains(binary),
            "functions/src/bin/{binary}.rs has no function in template.yaml"
        );
    }
    let mut registered: BTreeSet<String> =
        routes::BINARIES.iter().map(|b| (*b).to_owned()).collect();
    registered.extend(background);
    assert_eq!(
        registered, on_disk,
        "payment_shared::routes::BINARIES vs functions/src/bin"
    );
    assert!(routes::handler("no-such-binary").is_none());
}

/// Each main serves its own line of `payment_shared::routes`, and nothing
/// else: the handler and the runtime entry (which clients its binary
/// carries) come from that line, so a wrong pick cannot be written. (A main
/// that names another binary's line does not compile.)
#[test]
fn every_main_serves_its_own_registry_line() {
    let squash = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    for binary in binaries_on_disk() {
        let source = std::fs::read_to_string(repo().join(format!("functions/src/bin/{binary}.rs")))
            .expect("binary source");
        let code: String = source
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect();
        assert_eq!(
            squash(&code),
            squash(&format!(
                "#[tokio::main] async fn main() -> Result<(), lambda_http::Error> {{ \
                 payment_shared::serve_function!(\"{binary}\").await }}"
            )),
            "functions/src/bin/{binary}.rs"
        );
        assert!(
            routes::function(&binary).is_some(),
            "{binary} has a line in payment_shared::routes"
        );
    }
}

#[test]
fn template_routes_are_read_with_methods_paths_and_timeouts() {
    let functions = functions();
    let create = functions
        .iter()
        .find(|f| f.binary == "intents-create")
        .expect("intents-create");
    assert_eq!(create.logical_id, "IntentsCreateFunction");
    assert_eq!(create.routes, ["POST /payment/intents"]);
    assert_eq!(create.timeout, std::time::Duration::from_secs(10)); // Globals
    let get = functions
        .iter()
        .find(|f| f.binary == "intents-get")
        .expect("intents-get");
    assert_eq!(get.routes, ["GET /payment/intents/{intent_id}"]);
    // A function's own Timeout wins over Globals: the local stack gives a
    // function that waits on a gateway the deadline Lambda would.
    let confirm = functions
        .iter()
        .find(|f| f.binary == "payment-intents-confirm")
        .expect("payment-intents-confirm");
    assert_eq!(confirm.timeout, std::time::Duration::from_secs(28));
}

#[test]
fn template_parsing_handles_any_default_and_missing_binary() {
    let yaml = r#"
Globals:
  Function:
    Timeout: 7
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
  Proxy:
    Type: AWS::Serverless::Function
    Metadata:
      BuildProperties:
        Binary: proxy
    Properties:
      Timeout: 20
      Events:
        Any:
          Type: HttpApi
          Properties:
            ApiId: !Ref Api
            Path: /files/{proxy+}
            Method: any
        Catchall:
          Type: HttpApi
        Queue:
          Type: SQS
          Properties:
            Queue: !GetAtt Q.Arn
"#;
    let functions = template::parse(yaml).expect("parses");
    assert_eq!(functions.len(), 1);
    assert_eq!(functions[0].binary, "proxy");
    assert_eq!(functions[0].routes, ["ANY /files/{proxy+}", "$default"]);
    assert_eq!(functions[0].timeout, std::time::Duration::from_secs(20));

    let missing = "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties: {}\n";
    let err = template::parse(missing).expect_err("no Binary");
    assert!(err.to_string().contains("BuildProperties.Binary"), "{err}");
}

// --- (b) routing as API Gateway HTTP APIs do it ---

fn router(keys: &[&str]) -> Router<&'static str> {
    let leaked: Vec<(String, &'static str)> = keys
        .iter()
        .map(|k| {
            (
                (*k).to_owned(),
                &*Box::leak((*k).to_owned().into_boxed_str()),
            )
        })
        .collect();
    Router::new(leaked).expect("valid routes")
}

fn found(
    r: &Router<&'static str>,
    method: &str,
    path: &str,
) -> Option<(String, Vec<(String, String)>)> {
    r.find(method, path).map(|m| {
        (
            (*m.target).to_owned(),
            m.path_parameters.into_iter().collect(),
        )
    })
}

fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn path_parameters_are_extracted_and_decoded() {
    let r = router(&[
        "GET /payment/intents/{intent_id}",
        "GET /api/v1/payables/{kind}/{id}",
    ]);
    assert_eq!(
        found(&r, "GET", "/payment/intents/abc-123"),
        Some((
            "GET /payment/intents/{intent_id}".into(),
            p(&[("intent_id", "abc-123")])
        ))
    );
    assert_eq!(
        found(&r, "GET", "/api/v1/payables/registration/REG%201"),
        Some((
            "GET /api/v1/payables/{kind}/{id}".into(),
            p(&[("id", "REG 1"), ("kind", "registration")])
        ))
    );
    // A parameter is one non-empty segment.
    assert_eq!(found(&r, "GET", "/payment/intents/"), None);
    assert_eq!(found(&r, "GET", "/payment/intents/a/b"), None);
    assert_eq!(found(&r, "GET", "/payment/intents"), None);
}

#[test]
fn greedy_proxy_takes_the_rest_of_the_path() {
    let r = router(&["GET /files/{proxy+}", "GET /files/special", "ANY /{proxy+}"]);
    assert_eq!(
        found(&r, "GET", "/files/a/b/c.txt"),
        Some(("GET /files/{proxy+}".into(), p(&[("proxy", "a/b/c.txt")])))
    );
    assert_eq!(
        found(&r, "GET", "/files/special"),
        Some(("GET /files/special".into(), vec![]))
    );
    assert_eq!(
        found(&r, "POST", "/files/a"),
        Some(("ANY /{proxy+}".into(), p(&[("proxy", "files/a")])))
    );
    // {proxy+} needs at least one character; "/" matches no route here.
    assert_eq!(found(&r, "GET", "/"), None);
}

#[test]
fn method_mismatch_is_no_route() {
    let r = router(&["POST /payment/intents", "GET /"]);
    assert!(found(&r, "POST", "/payment/intents").is_some());
    assert_eq!(found(&r, "GET", "/payment/intents"), None);
    assert_eq!(found(&r, "DELETE", "/payment/intents"), None);
    assert_eq!(found(&r, "POST", "/"), None);
}

#[test]
fn most_specific_route_wins_and_exact_method_beats_any() {
    let r = router(&[
        "GET /pets/dog/1",
        "GET /pets/dog/{id}",
        "GET /pets/{proxy+}",
        "ANY /pets/dog/{id}",
        "$default",
    ]);
    assert_eq!(
        found(&r, "GET", "/pets/dog/1").map(|m| m.0),
        Some("GET /pets/dog/1".into())
    );
    assert_eq!(
        found(&r, "GET", "/pets/dog/2").map(|m| m.0),
        Some("GET /pets/dog/{id}".into())
    );
    assert_eq!(
        found(&r, "PUT", "/pets/dog/2").map(|m| m.0),
        Some("ANY /pets/dog/{id}".into())
    );
    assert_eq!(
        found(&r, "GET", "/pets/cat/1").map(|m| m.0),
        Some("GET /pets/{proxy+}".into())
    );
    assert_eq!(
        found(&r, "PUT", "/pets/cat/1").map(|m| m.0),
        Some("$default".into())
    );
    assert_eq!(
        found(&r, "GET", "/elsewhere").map(|m| m.0),
        Some("$default".into())
    );
}

#[test]
fn bad_and_duplicate_routes_are_refused() {
    for keys in [
        vec!["GET /a", "GET /a"],
        vec!["GET /{proxy+}/a"],
        vec!["GET /a{b}"],
        vec!["FETCH /a"],
        vec!["GET a"],
        vec!["$default", "$default"],
    ] {
        let routes = keys.iter().map(|k| ((*k).to_owned(), ()));
        assert!(Router::new(routes).is_err(), "{keys:?} accepted");
    }
}

#[test]
fn the_template_routes_every_endpoint() {
    let r = template_router();
    let cases = [
        ("GET", "/", "service-root", vec![]),
        ("POST", "/payment/intents", "intents-create", vec![]),
        (
            "POST",
            "/payment/intents/request-otp",
            "intents-request-otp",
            vec![],
        ),
        (
            "POST",
            "/payment/intents/confirm",
            "intents-confirm",
            vec![],
        ),
        ("POST", "/payment/intents/cancel", "intents-cancel", vec![]),
        ("POST", "/payment/intents/fail", "intents-fail", vec![]),
        (
            "GET",
            "/payment/intents/0193",
            "intents-get",
            vec![("intent_id", "0193")],
        ),
        // Same shape as API Gateway: a literal-looking id is still the parameter.
        (
            "GET",
            "/payment/intents/cancel",
            "intents-get",
            vec![("intent_id", "cancel")],
        ),
        (
            "GET",
            "/payment/intents/user/u-1",
            "intents-list-by-user",
            vec![("user_id", "u-1")],
        ),
        (
            "GET",
            "/payment/intents/registration/REG-1",
            "intents-list-by-registration",
            vec![("registration_id", "REG-1")],
        ),
        (
            "PUT",
            "/api/v1/payables/order/O-1",
            "payables-put",
            vec![("id", "O-1"), ("kind", "order")],
        ),
        (
            "GET",
            "/api/v1/payables/order/O-1",
            "payables-get",
            vec![("id", "O-1"), ("kind", "order")],
        ),
        ("POST", "/payment", "payments-create", vec![]),
        ("GET", "/payment", "payments-list", vec![]),
        ("GET", "/payment/p-1", "payments-get", vec![("id", "p-1")]),
        (
            "GET",
            "/payment/order/O-1",
            "payments-list-by-order",
            vec![("orderId", "O-1")],
        ),
        (
            "POST",
            "/api/v1/payments/p-1/refunds",
            "refunds-create",
            vec![("id", "p-1")],
        ),
        (
            "GET",
            "/api/v1/payments/p-1/refunds",
            "refunds-list",
            vec![("id", "p-1")],
        ),
        (
            "POST",
            "/api/v1/shop/orders/O-1/payment-intent",
            "shop-create-intent",
            vec![("orderId", "O-1")],
        ),
        (
            "POST",
            "/api/v1/shop/orders/O-1/payment",
            "shop-mark-paid",
            vec![("orderId", "O-1")],
        ),
        ("GET", "/api/v1/events", "events-list", vec![]),
    ];
    for (method, path, binary, params) in cases {
        let m = r
            .find(method, path)
            .unwrap_or_else(|| panic!("{method} {path} has no route"));
        assert_eq!(m.target, binary, "{method} {path}");
        assert_eq!(
            m.path_parameters,
            params
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect::<BTreeMap<_, _>>()
        );
    }
    for (method, path) in [
        ("DELETE", "/payment/intents"),
        ("PATCH", "/payment/intents"),
        ("POST", "/payment/intents/0193"),
        ("PUT", "/payment"),
        ("DELETE", "/api/v1/payables/order/O-1"),
        ("GET", "/api/v1/payables/order"),
        ("POST", "/api/v1/events"),
    ] {
        assert!(r.find(method, path).is_none(), "{method} {path} routed");
    }
}

// --- the v2 event, through lambda_http's own parsing, and the response ---

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in pairs {
        map.append(
            lambda_http::http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
            v.parse().expect("value"),
        );
    }
    map
}

fn sample_event(raw_query: &str, headers: &HeaderMap, body: &[u8]) -> Value {
    let params: BTreeMap<String, String> = [("user_id".to_owned(), "u 1".to_owned())].into();
    event::build(&EventInput {
        route_key: "GET /payment/intents/user/{user_id}",
        method: "GET",
        raw_path: "/payment/intents/user/u%201",
        raw_query,
        path_parameters: &params,
        headers,
        body,
        source_ip: "127.0.0.1",
        protocol: "HTTP/1.1",
        request_id: "BlMDUj1VIAMEJ6A=",
        api_id: "local",
        account_id: "123456789012",
        now: time::macros::datetime!(2025-11-24 07:24:15.496 UTC),
    })
}

#[test]
fn the_event_has_the_v2_shape() {
    let h = headers(&[
        ("Host", "127.0.0.1:3000"),
        ("User-Agent", "curl/8"),
        ("X-Multi", "a"),
        ("x-multi", "b"),
        ("Cookie", "a=1; b=2"),
        ("cookie", "c=3"),
        ("content-type", "application/json"),
    ]);
    let e = sample_event("status=succeeded&tag=x&tag=y&q=a+b%21", &h, br#"{"k":"v"}"#);
    assert_eq!(e["version"], "2.0");
    assert_eq!(e["routeKey"], "GET /payment/intents/user/{user_id}");
    assert_eq!(e["rawPath"], "/payment/intents/user/u%201");
    assert_eq!(e["rawQueryString"], "status=succeeded&tag=x&tag=y&q=a+b%21");
    assert_eq!(
        e["queryStringParameters"],
        json!({"status": "succeeded", "tag": "x,y", "q": "a b!"})
    );
    assert_eq!(e["pathParameters"], json!({"user_id": "u 1"}));
    assert_eq!(e["headers"]["x-multi"], "a,b");
    assert_eq!(e["headers"]["host"], "127.0.0.1:3000");
    assert!(e["headers"].get("cookie").is_none());
    assert_eq!(e["cookies"], json!(["a=1", "b=2", "c=3"]));
    let ctx = &e["requestContext"];
    assert_eq!(ctx["requestId"], "BlMDUj1VIAMEJ6A=");
    assert_eq!(ctx["routeKey"], e["routeKey"]);
    assert_eq!(ctx["stage"], "$default");
    assert_eq!(ctx["time"], "24/Nov/2025:07:24:15 +0000");
    assert_eq!(ctx["timeEpoch"], 1_763_969_055_496_i64);
    assert_eq!(
        ctx["http"],
        json!({"method": "GET", "path": "/payment/intents/user/u%201", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "curl/8"})
    );
    assert_eq!(e["isBase64Encoded"], false);
    assert_eq!(e["body"], r#"{"k":"v"}"#);
}

#[test]
fn lambda_http_reads_the_event_as_in_lambda() {
    let h = headers(&[
        ("host", "127.0.0.1:3000"),
        ("cookie", "a=1; b=2"),
        ("authorization", "Bearer t"),
    ]);
    let e = sample_event("status=succeeded&limit=5", &h, b"");
    let req = lambda_http::request::from_str(&e.to_string()).expect("lambda_http parses it");
    assert_eq!(req.method(), "GET");
    assert_eq!(req.uri().path(), "/payment/intents/user/u%201");
    assert_eq!(req.uri().query(), Some("status=succeeded&limit=5"));
    assert_eq!(req.headers()["authorization"], "Bearer t");
    assert_eq!(req.headers()["cookie"], "a=1; b=2");
    assert_eq!(
        req.path_parameters_ref().and_then(|p| p.first("user_id")),
        Some("u 1")
    );
    let q = req.query_string_parameters();
    assert_eq!(q.first("status"), Some("succeeded"));
    assert_eq!(q.first("limit"), Some("5"));
    assert!(matches!(req.body(), Body::Empty));
    assert!(e.get("body").is_none());
}

#[test]
fn binary_bodies_are_base64_encoded() {
    let bytes = [0xff_u8, 0xfe, 0x00, 0x41];
    let e = sample_event("", &headers(&[]), &bytes);
    assert_eq!(e["isBase64Encoded"], true);
    let req = lambda_http::request::from_str(&e.to_string()).expect("parses");
    assert_eq!(req.body().as_ref(), &bytes);

    // UTF-8, but a binary media type: API Gateway encodes it too.
    let e = sample_event(
        "",
        &headers(&[("content-type", "application/octet-stream")]),
        b"abc",
    );
    assert_eq!(e["isBase64Encoded"], true);
    assert_eq!(e["body"], "YWJj");

    let e = sample_event(
        "",
        &headers(&[("content-type", "text/plain; charset=utf-8")]),
        b"abc",
    );
    assert_eq!(
        (e["isBase64Encoded"].clone(), e["body"].clone()),
        (json!(false), json!("abc"))
    );
}

#[test]
fn responses_render_as_api_gateway_renders_them() {
    let reply = render(&json!({
        "statusCode": 201,
        "headers": {"content-type": "application/json", "x-next-cursor": "abc"},
        "multiValueHeaders": {},
        "cookies": ["a=1; Path=/", "b=2; HttpOnly"],
        "body": "{\"ok\":true}",
        "isBase64Encoded": false,
    }))
    .expect("renders");
    assert_eq!(reply.status(), 201);
    assert_eq!(reply.headers()["content-type"], "application/json");
    assert_eq!(reply.headers()["x-next-cursor"], "abc");
    let cookies: Vec<_> = reply.headers().get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["a=1; Path=/", "b=2; HttpOnly"]);

    let reply = render(&json!({"statusCode": 200, "headers": {}, "cookies": [], "body": "AAEC", "isBase64Encoded": true}))
        .expect("renders");
    let body = futures::executor::block_on(http_body_util::BodyExt::collect(reply.into_body()))
        .expect("body")
        .to_bytes();
    assert_eq!(body.as_ref(), [0u8, 1, 2]);

    assert!(render(&json!({"statusCode": 99})).is_none());
    assert!(render(&json!({"body": "no status"})).is_none());
}

// --- (4) events/: sample events for `sam local invoke -e` and the like ---

#[test]
fn every_sample_event_parses_and_matches_its_route() {
    let functions = functions();
    let router = template_router();
    let mut covered = BTreeSet::new();
    for (name, path) in sample_events() {
        let text = std::fs::read_to_string(&path).expect("readable");
        let req = lambda_http::request::from_str(&text)
            .unwrap_or_else(|e| panic!("{name}.json: lambda_http cannot parse it: {e}"));
        let event: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(event["version"], "2.0", "{name}.json");
        let route_key = event["routeKey"].as_str().expect("routeKey");
        assert_eq!(
            event["requestContext"]["routeKey"], route_key,
            "{name}.json"
        );
        assert_eq!(event["requestContext"]["stage"], "$default", "{name}.json");

        // events/<binary>.json or events/<binary>-<case>.json
        let binary = routes::BINARIES
            .iter()
            .filter(|b| name == **b || name.starts_with(&format!("{b}-")))
            .max_by_key(|b| b.len())
            .unwrap_or_else(|| panic!("{name}.json is not named after a binary"));
        let function = functions
            .iter()
            .find(|f| f.binary == *binary)
            .expect("binary in template");
        assert!(
            function.routes.iter().any(|r| r == route_key),
            "{name}.json: routeKey '{route_key}' is not a route of {binary} ({:?})",
            function.routes
        );

        // The route the gateway picks for this request is the event's.
        let method = event["requestContext"]["http"]["method"]
            .as_str()
            .expect("method");
        let raw_path = event["rawPath"].as_str().expect("rawPath");
        assert_eq!(req.method().as_str(), method, "{name}.json");
        let m = router
            .find(method, raw_path)
            .unwrap_or_else(|| panic!("{name}.json: {method} {raw_path} has no route"));
        assert_eq!(m.route_key, route_key, "{name}.json");
        let params: BTreeMap<String, String> =
            serde_json::from_value(event.get("pathParameters").cloned().unwrap_or(json!({})))
                .expect("pathParameters");
        assert_eq!(m.path_parameters, params, "{name}.json");
        if name == *binary {
            covered.insert(binary.to_owned());
        }
    }
    let missing: Vec<_> = routes::BINARIES
        .iter()
        .filter(|b| !covered.contains(**b))
        .collect();
    assert!(
        missing.is_empty(),
        "no events/<binary>.json for {missing:?}"
    );
}

/// A function's main only wires a handler: `cargo test` builds and links no
/// test harness for it.
#[test]
fn no_function_binary_builds_a_test_harness() {
    let manifest =
        std::fs::read_to_string(repo().join("functions/Cargo.toml")).expect("functions/Cargo.toml");
    for binary in binaries_on_disk() {
        assert!(
            manifest.contains(&format!("[[bin]]\nname = \"{binary}\"\ntest = false\n")),
            "functions/Cargo.toml: [[bin]] name = \"{binary}\" with test = false"
        );
    }
}

/// The in-memory stores, the fault-injecting decorator and the storage
/// contract are for tests: they sit behind `payment-shared`'s `testing`
/// feature, which no shipped crate turns on, so no bootstrap carries them.
#[test]
fn test_only_adapters_ship_only_with_the_testing_feature() {
    let read = |path: &str| std::fs::read_to_string(repo().join(path)).expect(path);
    let shared = read("shared/Cargo.toml");
    assert!(
        shared.contains("\ntesting = []\n"),
        "shared/Cargo.toml: testing = []"
    );
    assert!(
        !shared.contains("\ndefault ="),
        "payment-shared has no default features"
    );
    for manifest in ["functions/Cargo.toml", "local/Cargo.toml"] {
        let text = read(manifest);
        let lines: Vec<_> = text
            .lines()
            .filter(|l| l.starts_with("payment-shared"))
            .collect();
        assert!(!lines.is_empty(), "{manifest} depends on payment-shared");
        for line in lines {
            assert!(
                !line.contains("testing"),
                "{manifest} turns on payment-shared's testing feature: {line}"
            );
        }
    }
    let gated = |path: &str, module: &str| {
        let source = read(path);
        assert!(
            source.contains(&format!(
                "#[cfg(any(test, feature = \"testing\"))]\npub mod {module};"
            )),
            "{path}: `pub mod {module}` behind the testing feature"
        );
    };
    gated("shared/src/adapters/mod.rs", "memory");
    gated("shared/src/adapters/mod.rs", "faulty");
    gated("shared/src/lib.rs", "contract");
}
