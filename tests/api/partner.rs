//! The partner API: signed reads of a business's payments, with fees and
//! settlement, on DynamoDB Local.

use futures::future::join_all;
use integration_tests::flows::register_order;
use integration_tests::*;
use lambda_http::http::Method;
use payment_shared::auth::sign_partner_request;
use payment_shared::ports::Clock;
use payment_shared::surfaces::{partner, payments};
use serde_json::{Value, json};
use time::Duration;

const NOTE: &str = "Payment for services rendered";

/// An order of `amount` USD for the business, numbered, as the payables API registers it.
async fn business_order(h: &Harness, business: Option<u64>, amount: &str) -> String {
    let id = unique("ORD");
    let owner = unique("buyer");
    let mut body = json!({
        "user_id": owner, "email": format!("{owner}@example.com"),
        "amount": amount, "currency": "USD",
        "number": format!("N-{id}"), "description": NOTE,
    });
    if let Some(business) = business {
        body["business_id"] = json!(business);
    }
    register_order(h, &id, body).await;
    id
}

/// Records a payment against the order through the payments API (as the operator's backend).
async fn record(h: &Harness, order: &str, amount: Value, method: &str, status: &str) -> String {
    let r = invoke(
        h,
        payments::create,
        call(Method::POST, "/payment").api_key(API_KEY).json(json!({
            "amount": amount, "orderId": order, "paymentMethod": method, "status": status,
        })),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().expect("payment id").to_owned()
}

fn detail_path(payment: &str) -> String {
    format!("/api/v1/payment/detail/{payment}")
}

/// A GET of `path` (its query included) signed by `client` with `secret`, at `timestamp`.
fn signed_at(path: &str, payment: &str, client: &str, secret: &str, timestamp: i64) -> Call {
    sent_signed_for(path, path, payment, client, secret, timestamp)
}

/// A GET of `sent`, with the signature of a GET of `signed`.
fn sent_signed_for(
    sent: &str,
    signed: &str,
    payment: &str,
    client: &str,
    secret: &str,
    timestamp: i64,
) -> Call {
    let t = timestamp.to_string();
    let signature = sign_partner_request(secret, "GET", signed, &t, b"");
    call(Method::GET, sent)
        .param("id", payment)
        .header("x-client-id", client)
        .header("x-timestamp", &t)
        .header("x-signature", &signature)
}

fn signed(h: &Harness, payment: &str) -> Call {
    let (client, secret, _) = PARTNER;
    let now = h.clock.now().unix_timestamp();
    signed_at(&detail_path(payment), payment, client, secret, now)
}

async fn detail(h: &Harness, request: Call) -> Reply {
    invoke(h, partner::payment_detail, request).await
}

fn assert_envelope_error(r: &Reply, status: u16) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(
        r.body["code"],
        json!(u32::from(status) * 1000),
        "{}",
        r.body
    );
    assert!(r.body["data"].is_null(), "{}", r.body);
    assert!(
        !r.body["message"]["content"]
            .as_str()
            .unwrap_or_default()
            .is_empty(),
        "{}",
        r.body
    );
    assert!(r.body["request_id"].is_string(), "{}", r.body);
}

fn keys(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
    keys.sort();
    keys
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
    names.sort();
    names
}

fn account_of(business: u64) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("payment-service:business:{business}").as_bytes(),
    )
    .to_string()
}

#[tokio::test]
async fn a_signed_request_reads_the_payment_with_every_documented_field() {
    let h = Harness::new().await;
    let order = business_order(&h, Some(PARTNER.2), "5000.00").await;
    let payment = record(&h, &order, json!(5000), "Bank Transfer", "COMPLETED").await;

    let r = detail(&h, signed(&h, &payment)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["message"]["content"], "Thực thi API thành công");
    assert_eq!(r.body["code"], 102000);
    assert!(r.body["request_id"].is_string());
    let data = &r.body["data"];
    assert_eq!(
        keys(data),
        sorted(&[
            "id",
            "business_id",
            "account_id",
            "request_amount",
            "note",
            "total_net_settled_amount",
            "total_collecting_amount",
            "total_paid_amount",
            "total_fee_amount",
            "code",
            "payment_method",
            "currency_code",
            "transaction",
            "account",
        ])
    );
    let account_id = account_of(PARTNER.2);
    assert_eq!(data["id"], payment.as_str());
    assert_eq!(data["business_id"], json!(123456));
    assert_eq!(data["account_id"], account_id.as_str());
    assert_eq!(data["request_amount"], json!(5000));
    assert_eq!(data["note"], NOTE);
    // The partner API's documented example: a 5000.00 USD bank transfer pays 100 in fees.
    assert_eq!(data["total_paid_amount"], json!(5000));
    assert_eq!(data["total_fee_amount"], json!(100));
    assert_eq!(data["total_net_settled_amount"], json!(4900));
    assert_eq!(data["total_collecting_amount"], json!(0));
    let code = data["code"].as_str().expect("code");
    assert!(
        code.len() == 15
            && code.starts_with("PMT")
            && code[3..]
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()),
        "{code}"
    );
    assert_eq!(data["payment_method"], "Bank Transfer");
    assert_eq!(data["currency_code"], "USD");

    let txn = &data["transaction"];
    assert_eq!(
        keys(txn),
        sorted(&[
            "id",
            "account_id",
            "net_amount",
            "fee_amount",
            "currency_code",
            "type",
            "txn_number"
        ])
    );
    assert!(uuid::Uuid::parse_str(txn["id"].as_str().expect("id")).is_ok());
    assert_eq!(txn["account_id"], account_id.as_str());
    assert_eq!(txn["net_amount"], json!(4900));
    assert_eq!(txn["fee_amount"], json!(100));
    assert_eq!(txn["currency_code"], "USD");
    assert_eq!(txn["type"], "Credit");
    assert_eq!(txn["txn_number"], "");

    let account = &data["account"];
    assert_eq!(
        keys(account),
        sorted(&[
            "id",
            "business_id",
            "account_id",
            "request_amount",
            "note",
            "total_net_settled_amount",
            "total_collecting_amount",
            "total_paid_amount",
            "total_fee_amount",
            "code",
            "payment_method",
            "currency_code",
        ])
    );
    assert_eq!(account["id"], account_id.as_str());
    assert_eq!(account["account_id"], account_id.as_str());
    assert_eq!(account["business_id"], json!(123456));
    assert_eq!(account["request_amount"], json!(5000));
    assert_eq!(account["note"], NOTE);
    assert_eq!(account["total_paid_amount"], json!(5000));
    assert_eq!(account["total_fee_amount"], json!(100));
    assert_eq!(account["total_net_settled_amount"], json!(4900));
    assert_eq!(account["total_collecting_amount"], json!(0));
    assert_eq!(account["code"], format!("N-{order}"));
    assert_eq!(account["payment_method"], "Bank Transfer");
    assert_eq!(account["currency_code"], "USD");

    // Asked again (a new signature), the same references come back.
    h.clock.advance(Duration::seconds(1));
    let again = detail(&h, signed(&h, &payment)).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["data"]["code"], data["code"]);
    assert_eq!(again.body["data"]["transaction"]["id"], txn["id"]);
}

#[tokio::test]
async fn the_request_id_is_api_gateways() {
    let h = Harness::new().await;
    let order = business_order(&h, Some(PARTNER.2), "10.00").await;
    let payment = record(&h, &order, json!(10), "Cash", "COMPLETED").await;
    // The sample event, naming this payment and signed now with this test's secret.
    let path = detail_path(&payment);
    let t = h.clock.now().unix_timestamp().to_string();
    let mut event: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../events/partner-payment-detail.json"),
        )
        .expect("event"),
    )
    .expect("json");
    event["rawPath"] = json!(path);
    event["requestContext"]["http"]["path"] = json!(path);
    event["pathParameters"]["id"] = json!(payment);
    event["headers"]["x-timestamp"] = json!(t);
    event["headers"]["x-signature"] = json!(sign_partner_request(PARTNER.1, "GET", &path, &t, b""));
    let req = lambda_http::request::from_str(&event.to_string()).expect("API Gateway event");
    let r = Reply::from(partner::payment_detail(h.app.clone(), req).await);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["request_id"], "d5f72213-a078-4ab9-bebc-4ffa467c7860");

    // Replayed, the same event is refused, in the envelope, with its request id.
    let req = lambda_http::request::from_str(&event.to_string()).expect("API Gateway event");
    let r = Reply::from(partner::payment_detail(h.app.clone(), req).await);
    assert_envelope_error(&r, 401);
    assert_eq!(r.body["request_id"], "d5f72213-a078-4ab9-bebc-4ffa467c7860");
}

#[tokio::test]
async fn anything_but_a_fresh_valid_signature_is_401() {
    let h = Harness::new().await;
    let order = business_order(&h, Some(PARTNER.2), "50.00").await;
    let payment = record(&h, &order, json!(50), "Cash", "COMPLETED").await;
    let path = detail_path(&payment);
    let (client, secret, _) = PARTNER;
    let now = h.clock.now().unix_timestamp();

    let mut refused = vec![
        (
            "wrong secret",
            signed_at(&path, &payment, client, "not-the-secret", now),
        ),
        (
            "unknown client",
            signed_at(&path, &payment, "no-such-client", secret, now),
        ),
        (
            "another client's secret",
            signed_at(&path, &payment, client, OTHER_PARTNER.1, now),
        ),
        (
            "301 s old",
            signed_at(&path, &payment, client, secret, now - 301),
        ),
        (
            "301 s ahead",
            signed_at(&path, &payment, client, secret, now + 301),
        ),
        (
            "signed for another path",
            sent_signed_for(&path, &detail_path("other"), &payment, client, secret, now),
        ),
    ];
    refused.push((
        "query added",
        sent_signed_for(
            &format!("{path}?expand=all"),
            &path,
            &payment,
            client,
            secret,
            now,
        ),
    ));
    let t = now.to_string();
    let signature = sign_partner_request(secret, "GET", &path, &t, b"");
    for missing in ["x-client-id", "x-timestamp", "x-signature"] {
        let mut c = call(Method::GET, &path).param("id", &payment);
        for (name, value) in [
            ("x-client-id", client),
            ("x-timestamp", &t),
            ("x-signature", &signature),
        ] {
            if name != missing {
                c = c.header(name, value);
            }
        }
        refused.push(("missing header", c));
    }
    for (why, request) in refused {
        let r = detail(&h, request).await;
        assert_envelope_error(&r, 401);
        assert!(r.body["data"].is_null(), "{why}");
    }

    // Within five minutes either way is fine; each signature once.
    for offset in [-299, 299] {
        let r = detail(&h, signed_at(&path, &payment, client, secret, now + offset)).await;
        assert_eq!(r.status, 200, "{offset}: {}", r.body);
    }
    let once = signed_at(&path, &payment, client, secret, now);
    let first = detail(&h, once).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let replayed = detail(&h, signed_at(&path, &payment, client, secret, now)).await;
    assert_envelope_error(&replayed, 401);
    assert_eq!(
        replayed.body["message"]["content"],
        "This signature was already used"
    );

    // The query is part of what is signed: signed with it, it passes.
    let with_query = format!("{path}?expand=all");
    let r = detail(
        &h,
        signed_at(&with_query, &payment, client, secret, now + 1).param("id", &payment),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn a_partner_sees_only_its_own_business() {
    let h = Harness::new().await;
    let theirs = business_order(&h, Some(OTHER_PARTNER.2), "20.00").await;
    let theirs = record(&h, &theirs, json!(20), "Cash", "COMPLETED").await;
    let nobodys = business_order(&h, None, "20.00").await;
    let nobodys = record(&h, &nobodys, json!(20), "Cash", "COMPLETED").await;
    for payment in [
        theirs.clone(),
        nobodys,
        uuid::Uuid::now_v7().to_string(),
        "not-a-payment-id".to_owned(),
    ] {
        let r = detail(&h, signed(&h, &payment)).await;
        assert_envelope_error(&r, 404);
    }
    // Its own partner reads it.
    let (client, secret, _) = OTHER_PARTNER;
    let now = h.clock.now().unix_timestamp();
    let r = detail(
        &h,
        signed_at(&detail_path(&theirs), &theirs, client, secret, now),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["business_id"], json!(777));
}

#[tokio::test]
async fn a_payment_stays_with_the_business_it_was_made_for() {
    let h = Harness::new().await;
    let id = unique("ORD");
    let owner = unique("buyer");
    let order_of = |business: u64| {
        json!({
            "user_id": owner, "email": format!("{owner}@example.com"),
            "amount": "100.00", "currency": "USD", "description": NOTE,
            "business_id": business,
        })
    };
    register_order(&h, &id, order_of(PARTNER.2)).await;
    let payment = record(&h, &id, json!(30), "Cash", "COMPLETED").await;
    // The payables API hands the order to another business.
    let moved = register_order(&h, &id, order_of(OTHER_PARTNER.2)).await;
    assert_eq!(moved["business_id"], json!(OTHER_PARTNER.2));

    let r = detail(&h, signed(&h, &payment)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["business_id"], json!(PARTNER.2));
    assert_eq!(r.body["data"]["account"]["total_paid_amount"], json!(30));

    let (client, secret, _) = OTHER_PARTNER;
    let now = h.clock.now().unix_timestamp();
    let r = detail(
        &h,
        signed_at(&detail_path(&payment), &payment, client, secret, now),
    )
    .await;
    assert_envelope_error(&r, 404);

    // A payment made after the move is the new business's, and not in the
    // old business's account.
    let later = record(&h, &id, json!(20), "Cash", "COMPLETED").await;
    let r = detail(
        &h,
        signed_at(&detail_path(&later), &later, client, secret, now + 1),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["business_id"], json!(OTHER_PARTNER.2));
    assert_eq!(r.body["data"]["account"]["total_paid_amount"], json!(20));
    h.clock.advance(Duration::seconds(1));
    let r = detail(&h, signed(&h, &later)).await;
    assert_envelope_error(&r, 404);
    let r = detail(&h, signed(&h, &payment)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["account"]["total_paid_amount"], json!(30));
}

async fn fee_of(h: &Harness, amount: &str, method: &str) -> (Value, Value, Value) {
    let order = business_order(h, Some(PARTNER.2), amount).await;
    let number: Value = serde_json::from_str(amount).expect("amount");
    let payment = record(h, &order, number, method, "COMPLETED").await;
    h.clock.advance(Duration::milliseconds(1));
    let r = detail(h, signed(h, &payment)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let d = &r.body["data"];
    assert_eq!(d["transaction"]["fee_amount"], d["total_fee_amount"]);
    assert_eq!(
        d["transaction"]["net_amount"],
        d["total_net_settled_amount"]
    );
    (
        d["total_paid_amount"].clone(),
        d["total_fee_amount"].clone(),
        d["total_net_settled_amount"].clone(),
    )
}

#[tokio::test]
async fn fees_follow_the_default_schedule() {
    let h = Harness::new().await;
    // Bank Transfer: 2 %.
    assert_eq!(
        fee_of(&h, "5000.00", "Bank Transfer").await,
        (json!(5000), json!(100), json!(4900))
    );
    // Card: 2.9 % + 0.30, rounded half-even (2.9 % of 10.50 is 0.3045 → 0.30).
    assert_eq!(
        fee_of(&h, "100.00", "Card").await,
        (json!(100), json!(3.2), json!(96.8))
    );
    assert_eq!(
        fee_of(&h, "10.50", "Card").await,
        (json!(10.5), json!(0.6), json!(9.9))
    );
    // Every other method: no fee.
    for method in ["Cash", "Bkash", "Nagad", "Rocket"] {
        assert_eq!(
            fee_of(&h, "80.00", method).await,
            (json!(80), json!(0), json!(80)),
            "{method}"
        );
    }
}

#[tokio::test]
async fn a_configured_schedule_replaces_the_default() {
    let h = Harness::configured(Box::new(|config| {
        config.fees = payment_shared::config::parse_fee_schedule(
            r#"{"cash": {"percent_bp": 150, "fixed_minor": 25}}"#,
        )
        .expect("schedule");
    }))
    .await;
    // 1.5 % of 200.00 + 0.25.
    assert_eq!(
        fee_of(&h, "200.00", "Cash").await,
        (json!(200), json!(3.25), json!(196.75))
    );
    // Replaced as a whole: bank transfers no longer pay.
    assert_eq!(
        fee_of(&h, "5000.00", "Bank Transfer").await,
        (json!(5000), json!(0), json!(5000))
    );
}

#[tokio::test]
async fn the_account_sums_every_payment_of_the_payable() {
    let h = Harness::new().await;
    let order = business_order(&h, Some(PARTNER.2), "100.00").await;
    let transfer = record(&h, &order, json!(30), "Bank Transfer", "COMPLETED").await;
    let cash = record(&h, &order, json!(20), "Cash", "PENDING").await;
    record(&h, &order, json!(10), "Card", "COMPLETED").await;
    record(&h, &order, json!(5), "Card", "FAILED").await;

    let r = detail(&h, signed(&h, &cash)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let data = &r.body["data"];
    // The pending payment itself is still collecting.
    assert_eq!(data["request_amount"], json!(20));
    assert_eq!(data["total_paid_amount"], json!(0));
    assert_eq!(data["total_collecting_amount"], json!(20));
    assert_eq!(data["total_fee_amount"], json!(0));
    assert_eq!(data["total_net_settled_amount"], json!(0));
    assert_eq!(data["payment_method"], "Cash");
    // The account: 30 + 10 paid, 20 collecting, fees 0.60 + 0.59, the failed one not at all.
    let account = &data["account"];
    assert_eq!(account["request_amount"], json!(100));
    assert_eq!(account["total_paid_amount"], json!(40));
    assert_eq!(account["total_collecting_amount"], json!(20));
    assert_eq!(account["total_fee_amount"], json!(1.19));
    assert_eq!(account["total_net_settled_amount"], json!(38.81));
    assert_eq!(account["payment_method"], "Cash");

    h.clock.advance(Duration::seconds(1));
    let r = detail(&h, signed(&h, &transfer)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["total_paid_amount"], json!(30));
    assert_eq!(r.body["data"]["total_fee_amount"], json!(0.6));
    assert_eq!(r.body["data"]["account"]["total_paid_amount"], json!(40));
}

#[tokio::test]
async fn the_same_signed_request_ten_times_at_once_is_answered_once() {
    let h = Harness::new().await;
    let order = business_order(&h, Some(PARTNER.2), "10.00").await;
    let payment = record(&h, &order, json!(10), "Cash", "COMPLETED").await;
    let (client, secret, _) = PARTNER;
    let now = h.clock.now().unix_timestamp();
    let path = detail_path(&payment);
    let replies =
        join_all((0..10).map(|_| detail(&h, signed_at(&path, &payment, client, secret, now))))
            .await;
    let ok = replies.iter().filter(|r| r.status == 200).count();
    let refused = replies.iter().filter(|r| r.status == 401).count();
    assert_eq!((ok, refused), (1, 9));
}
