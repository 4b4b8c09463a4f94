//! The OpenAPI document covers exactly the template's routes and is valid OpenAPI 3.1.

use std::collections::BTreeSet;

use serde_json::Value;

fn template_routes() -> BTreeSet<(String, String)> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml"))
        .expect("template.yaml");
    let template: serde_yaml::Value = serde_yaml::from_str(&text).expect("template parses");
    let mut routes = BTreeSet::new();
    for (_, resource) in template["Resources"].as_mapping().expect("resources") {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        for (_, event) in resource["Properties"]["Events"]
            .as_mapping()
            .expect("events")
        {
            // The stream and the schedule feeding the deliveries' dispatch and retry pass are no routes.
            if event["Type"].as_str() != Some("HttpApi") {
                continue;
            }
            let props = &event["Properties"];
            routes.insert((
                props["Method"]
                    .as_str()
                    .expect("method")
                    .to_ascii_lowercase(),
                props["Path"].as_str().expect("path").to_owned(),
            ));
        }
    }
    routes
}

fn document_routes(doc: &Value) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            routes.insert((method.clone(), path.clone()));
        }
    }
    routes
}

#[test]
fn paths_equal_the_template_routes() {
    let doc = payment_shared::surfaces::docs::document();
    assert_eq!(document_routes(&doc), template_routes());
}

#[test]
fn every_operation_documents_responses_errors_and_security() {
    let doc = payment_shared::surfaces::docs::document();
    assert!(doc["openapi"].as_str().expect("version").starts_with("3.1"));
    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .expect("security schemes");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["api_key"]["name"], "X-API-Key");
    let mut unexplained = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            let responses = op["responses"].as_object().expect("responses");
            // The handler's doc comment is what /docs shows about the operation.
            if !(op["summary"].is_string() || op["description"].is_string()) {
                unexplained.push(format!("{method} {path}"));
            }
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{method} {path} has a success response"
            );
            // A gateway's webhook carries no token: its signature is checked instead (400).
            let signed_by_gateway = path.starts_with("/api/v1/PaymentIntents/webhook/");
            if (path.starts_with("/payment/intents") || path.starts_with("/api/"))
                && !signed_by_gateway
            {
                assert!(
                    op["security"].is_array(),
                    "{method} {path} declares its security"
                );
                assert!(
                    responses.contains_key("401"),
                    "{method} {path} documents 401"
                );
            }
            // The shop's POSTs and the PaymentIntents API's cancel act on what the
            // path names and take no body.
            let cancel_by_path =
                path.starts_with("/api/v1/PaymentIntents/") && path.ends_with("/cancel");
            if method == "post" && !path.starts_with("/api/v1/shop/") && !cancel_by_path {
                assert!(
                    op["requestBody"].is_object(),
                    "{method} {path} has a request body schema"
                );
            }
        }
    }
    assert!(
        unexplained.is_empty(),
        "operations /docs says nothing about: {unexplained:?}"
    );
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    for name in [
        "CreatePaymentIntentRequest",
        "PaymentIntentResponse",
        "HTTPValidationError",
        "ValidationError",
        "PayableRequest",
        "ValidationFailed",
        "CreatePaymentIntentDto",
        "PaymentIntentDto",
        "ProblemDetails",
        "ValidationProblemDetails",
    ] {
        assert!(schemas.contains_key(name), "schema {name}");
    }
    let otp_code = &schemas["ConfirmPaymentRequest"]["properties"]["otp_code"];
    assert_eq!(otp_code["examples"][0], "123456", "{otp_code}");
    assert_eq!(otp_code["pattern"], "^[0-9]{6}$", "{otp_code}");
    let required = &schemas["ConfirmPaymentRequest"]["required"];
    assert_eq!(required, &serde_json::json!(["intent_id", "otp_code"]));
}

#[test]
fn a_real_validator_accepts_the_document() {
    let doc = payment_shared::surfaces::docs::document();
    let path = std::env::temp_dir().join(format!("openapi-{}.json", std::process::id()));
    std::fs::write(&path, serde_json::to_vec_pretty(&doc).expect("json")).expect("write");
    let out = std::process::Command::new("openapi-spec-validator")
        .arg(&path)
        .output()
        .expect("openapi-spec-validator is installed by scripts/install-tools.sh");
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "validator refused the document:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn the_docs_functions_serve_the_document_and_swagger_ui() {
    let h = integration_tests::Harness::new().await;
    let doc = integration_tests::invoke(
        &h,
        payment_shared::surfaces::docs::openapi_json,
        integration_tests::call(lambda_http::http::Method::GET, "/openapi.json"),
    )
    .await;
    assert_eq!(doc.status, 200);
    assert_eq!(doc.body, payment_shared::surfaces::docs::document());
    let page = payment_shared::surfaces::docs::swagger_ui(
        h.app.clone(),
        integration_tests::call(lambda_http::http::Method::GET, "/docs").build(),
    )
    .await;
    assert_eq!(page.status(), 200);
    let html: &[u8] = page.body().as_ref();
    let html = String::from_utf8_lossy(html);
    assert!(html.contains("SwaggerUIBundle") && html.contains("openapi.json"));
    // Every script and stylesheet is one pinned release, checked by its digest.
    for tag in html.split('<').filter(|t| t.contains("cdn.jsdelivr.net")) {
        assert!(tag.contains("swagger-ui-dist@5."), "pinned: {tag}");
        assert!(!tag.contains("swagger-ui-dist@5/"), "a full version: {tag}");
        assert!(
            tag.contains("integrity=\"sha384-"),
            "subresource integrity: {tag}"
        );
        assert!(tag.contains("crossorigin=\"anonymous\""), "{tag}");
    }
    assert_eq!(html.matches("integrity=").count(), 2);
    assert!(
        !html.contains("persistAuthorization"),
        "pasted tokens stay out of localStorage"
    );
}
