//! End to end: the real `local-setup` and `local-gateway` binaries against the
//! local stack (DynamoDB Local + SES emulator; `make test` starts it and
//! exports `AWS_ENDPOINT_URL_*` and `SES_EMULATOR_URL`), driven over HTTP.
//! Lives in this crate so Cargo builds the binaries first (`CARGO_BIN_EXE_*`).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const JWT_SECRET: &str = "e2e-jwt-secret";
const API_KEY: &str = "e2e-api-key";

fn stack_var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run through `make test`, which starts the local stack")
    })
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::now_v7().simple())
}

/// The configuration both binaries get, as `make run` passes it.
fn configure<'a>(cmd: &'a mut Command, table: &str) -> &'a mut Command {
    cmd.env("TABLE_NAME", table)
        .env("JWT_SECRET", JWT_SECRET)
        .env("JWT_ALGORITHM", "HS256")
        .env("SERVICE_API_KEY", API_KEY)
        .env("OTP_PEPPER", "e2e-pepper")
        .env("SENDER_EMAIL", "payments@example.com")
        // A local run, as `make run` is: the short test secrets are accepted.
        .env("APP_ENV", "local")
        .env_remove("SECRET_ARN")
        .env_remove("JWT_ISSUER")
        .env_remove("JWT_AUDIENCE")
        .env_remove("LOG_FORMAT")
}

/// The gateway child process; killed by PID when dropped (also on panic).
struct GatewayProcess {
    child: Child,
    base: String,
}

impl GatewayProcess {
    fn start(table: &str) -> Self {
        let mut child = configure(
            &mut Command::new(env!("CARGO_BIN_EXE_local-gateway")),
            table,
        )
        .env("PORT", "0")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("local-gateway starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut gateway = Self {
            child,
            base: String::new(),
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                eprintln!("[local-gateway] {line}");
                if let Some(url) = line.split("listening on ").nth(1) {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        gateway.base = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("local-gateway reports its address within 60 s");
        gateway
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM by PID; the gateway must exit cleanly.
    fn stop(&mut self) -> ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "SIGTERM to {}", self.pid());
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "local-gateway did not exit within 15 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

fn token(sub: &str) -> String {
    let claims = json!({
        "sub": sub,
        "email": format!("{sub}@example.com"),
        "roles": [],
        "exp": time::OffsetDateTime::now_utc().unix_timestamp() + 3600,
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .expect("token encodes")
}

/// The code in the newest email the SES emulator holds for `to`.
async fn latest_code(http: &reqwest::Client, to: &str) -> String {
    let store: Value = http
        .get(format!("{}/store", stack_var("SES_EMULATOR_URL")))
        .send()
        .await
        .expect("SES emulator answers")
        .json()
        .await
        .expect("store is JSON");
    let email = store["emails"]
        .as_array()
        .into_iter()
        .flatten()
        .rev()
        .find(|m| {
            m["destination"]["to"]
                .as_array()
                .is_some_and(|to_list| to_list.iter().any(|t| t == to))
        })
        .unwrap_or_else(|| panic!("no email to {to}"));
    let text = email["body"]["text"].as_str().expect("text body");
    let start = text.find("code is ").expect("email states the code") + "code is ".len();
    text[start..start + 6].to_owned()
}

async fn send(request: reqwest::RequestBuilder) -> (u16, reqwest::header::HeaderMap, Value) {
    let response = request.send().await.expect("gateway answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("JSON body, got {:?}", String::from_utf8_lossy(&bytes)))
    };
    (status, headers, body)
}

#[tokio::test]
async fn surface_a_over_http() {
    stack_var("AWS_ENDPOINT_URL_DYNAMODB");
    stack_var("SES_EMULATOR_URL");
    let table = unique("e2e");

    // local-setup: table + demo payables + tokens.
    let setup = configure(&mut Command::new(env!("CARGO_BIN_EXE_local-setup")), &table)
        .stderr(Stdio::inherit())
        .output()
        .expect("local-setup runs");
    assert!(setup.status.success(), "local-setup failed");
    let exports = String::from_utf8_lossy(&setup.stdout);
    for var in ["TOKEN_USER1", "TOKEN_USER2", "TOKEN_ADMIN"] {
        assert!(
            exports.contains(&format!("export {var}='ey")),
            "{var} in {exports}"
        );
    }

    let mut gateway = GatewayProcess::start(&table);
    let api = gateway.base.clone();
    let http = reqwest::Client::new();

    // The seeded registration is there (payables API, X-API-Key).
    let (status, _, body) = send(
        http.get(format!("{api}/api/v1/payables/registration/REG-DEMO-1"))
            .header("x-api-key", API_KEY),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user_id"], "demo-user-1");
    assert_eq!(body["amount"], "112.00");

    // Register a payable of our own.
    let user = unique("e2e-user");
    let email = format!("{user}@example.com");
    let registration = unique("REG-E2E");
    let (status, headers, body) = send(
        http.put(format!("{api}/api/v1/payables/registration/{registration}"))
            .header("x-api-key", API_KEY)
            .json(&json!({
                "user_id": user,
                "email": email,
                "amount": "112.00",
                "currency": "USD",
                "description": "Summer camp",
            })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert!(headers.contains_key("apigw-requestid"));
    assert_eq!(headers["content-type"], "application/json");

    let bearer = format!("Bearer {}", token(&user));

    // Create the intent.
    let (status, _, body) = send(
        http.post(format!("{api}/payment/intents"))
            .header("authorization", &bearer)
            .json(&json!({ "registration_id": registration })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "requires_confirmation");
    let intent = body["intent_id"].as_str().expect("intent_id").to_owned();

    // Mail the code, read it from the SES emulator, confirm.
    let (status, _, body) = send(
        http.post(format!("{api}/payment/intents/request-otp"))
            .header("authorization", &bearer)
            .json(&json!({ "intent_id": intent })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let code = latest_code(&http, &email).await;
    let (status, _, body) = send(
        http.post(format!("{api}/payment/intents/confirm"))
            .header("authorization", &bearer)
            .json(&json!({ "intent_id": intent, "otp_code": code })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["message"], "Payment confirmed");
    assert_eq!(body["amount"], "112.00");

    // Path parameter and query string reach the handler.
    let (status, _, body) = send(
        http.get(format!(
            "{api}/payment/intents/user/{user}?status=succeeded&limit=10"
        ))
        .header("authorization", &bearer),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let list = body.as_array().expect("a list");
    assert_eq!(list.len(), 1, "{body}");
    assert_eq!(list[0]["id"], intent.as_str());
    assert_eq!(list[0]["status"], "succeeded");

    let (status, _, body) = send(
        http.get(format!("{api}/payment/intents/{intent}"))
            .header("authorization", &bearer),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "succeeded");

    // Bad query value: the handler's own validation error.
    let (status, _, body) = send(
        http.get(format!("{api}/payment/intents/user/{user}?limit=abc"))
            .header("authorization", &bearer),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["detail"][0]["loc"], json!(["query", "limit"]));

    // No token: the handler's 401, headers included.
    let (status, headers, body) = send(
        http.post(format!("{api}/payment/intents"))
            .json(&json!({ "registration_id": registration })),
    )
    .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(headers["www-authenticate"], "Bearer");

    // API Gateway's own answers.
    let (status, _, body) = send(http.get(format!("{api}/no/such/route"))).await;
    assert_eq!((status, body), (404, json!({ "message": "Not Found" })));
    let (status, _, body) = send(http.delete(format!("{api}/payment/intents"))).await;
    assert_eq!((status, body), (404, json!({ "message": "Not Found" })));
    let (status, _, body) = send(
        http.post(format!("{api}/payment/intents"))
            .header("authorization", &bearer)
            .header("content-type", "application/json")
            .body(vec![b' '; 11 * 1024 * 1024]),
    )
    .await;
    assert_eq!(
        (status, body),
        (413, json!({ "message": "Request Entity Too Large" }))
    );

    // The gateway still serves after the 413, then stops cleanly on SIGTERM.
    let (status, _, body) = send(http.get(format!("{api}/"))).await;
    assert_eq!(status, 200, "{body}");
    let exit = gateway.stop();
    assert!(exit.success(), "local-gateway exited with {exit}");
}
