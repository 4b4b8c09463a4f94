//! The API as a tool nobody here wrote reads it: schemathesis generates
//! requests from `/openapi.json` (schema-valid and not), sends them through the
//! local gateway to the real handlers on DynamoDB Local, and checks every answer
//! against the document. `schemathesis.toml` lists the refusals that depend on
//! state; every other check runs (but the undeclared-method one: API Gateway
//! answers those 404 itself).

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use integration_tests::flows::register;
use integration_tests::*;
use local_gateway::{Gateway, template};
use tokio::net::TcpListener;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_failure() {
    let h = Harness::new().await;
    let owner = "contract-user";
    // Something to find, so that not every request ends in a 404.
    register(&h, "registration", "REG-CONTRACT-1", owner, "112.00", "USD").await;
    register(&h, "order", "ORD-CONTRACT-1", owner, "42.00", "USD").await;
    let hook = invoke(
        &h,
        payment_shared::surfaces::webhook_endpoints::put,
        call(
            lambda_http::http::Method::PUT,
            "/api/v1/webhook-endpoints/contract-hook",
        )
        .api_key(API_KEY)
        .param("id", "contract-hook")
        .json(serde_json::json!({"url": "https://example.com/hooks", "enabled_events": ["*"]})),
    )
    .await;
    assert_eq!(hook.status, 201, "{}", hook.body);

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let functions = template::load(&root.join("template.yaml")).expect("template.yaml");
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("a free port");
    let port = listener.local_addr().expect("address").port();
    let gateway = Arc::new(Gateway::new(&functions, h.app.clone(), port).expect("gateway"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(local_gateway::serve(listener, gateway, async {
        let _ = stopped.await;
    }));

    let token = token(owner, &[]);
    let run = tokio::task::spawn_blocking(move || {
        Command::new("schemathesis")
            .current_dir(&root) // where schemathesis.toml is
            .args([
                "run",
                &format!("http://127.0.0.1:{port}/openapi.json"),
                "--checks",
                "all",
                "--exclude-checks",
                "unsupported_method",
                "--seed",
                "1",
                "--max-examples",
                "30",
                "--no-color",
                "-H",
                &format!("Authorization: Bearer {token}"),
                "-H",
                &format!("X-API-Key: {API_KEY}"),
            ])
            .output()
    })
    .await
    .expect("schemathesis ran");
    let _ = stop.send(());
    let _ = server.await;
    let output = run.expect("schemathesis is installed (scripts/install-tools.sh installs it)");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis found failures:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Every operation schemathesis loads from the document (all but one of its 35), none skipped.
    assert!(
        report.contains("Tested: 34") || report.contains("Selected: 34/34"),
        "{report}"
    );
}
