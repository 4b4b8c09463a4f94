//! The events API and the outbox behind it, on DynamoDB Local: an event for
//! every state change reachable through the APIs, the list's filters, pages
//! and refusals, and that each change and its events are one write.

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use integration_tests::flows::{
    confirm as confirm_otp, confirm_payment_intent as confirm, create_payment_intent as create,
    register, request_otp,
};
use integration_tests::*;
use lambda_http::http::Method;
use payment_shared::adapters::dynamo::DynamoStore;
use payment_shared::contract::{new_intent, new_user, open_on, record_of, stored_order, succeed};
use payment_shared::domain::intent::Confirmation;
use payment_shared::domain::{GatewayId, IntentStatus, PaymentStatus};
use payment_shared::ports::{Clock, Expected, Stores};
use payment_shared::surfaces::{events, intents, payment_intents, payments, shop};
use serde_json::{Value, json};

const ROOT: &str = "/api/v1/PaymentIntents";

fn list_call() -> Call {
    call(Method::GET, "/api/v1/events")
}

async fn list(h: &Harness, query: &[(&str, &str)]) -> Reply {
    let mut c = list_call().api_key(API_KEY);
    for (k, v) in query {
        c = c.query(k, v);
    }
    invoke(h, events::list, c).await
}

/// Every event of `object_id`, newest first, however many pages.
async fn events_of(h: &Harness, object_id: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![("object_id", object_id), ("limit", "2")];
        if let Some(c) = &cursor {
            query.push(("cursor", c));
        }
        let r = list(h, &query).await;
        assert_eq!(r.status, 200, "{}", r.body);
        all.extend(r.body["data"].as_array().expect("data").iter().cloned());
        assert_eq!(r.body["has_more"], r.body["next_cursor"].is_string());
        match r.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return all,
        }
    }
}

/// Moves the test's clock on: events list by when they happened, and the
/// harness's clock stands still otherwise.
fn later(h: &Harness) {
    h.clock.advance(time::Duration::seconds(1));
}

fn types(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["type"].as_str().expect("type"))
        .collect()
}

/// Every event is Stripe's shape with its object's id.
fn well_formed(event: &Value, object: &str) {
    assert!(
        event["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("evt_") && id.len() == 28),
        "{event}"
    );
    assert_eq!(event["object"], "event");
    assert!(event["created"].is_i64(), "{event}");
    assert_eq!(event["data"]["object"]["object"], object, "{event}");
}

async fn deliver_succeeded(h: &Harness, gateway_intent: &str) -> Reply {
    let body = json!({
        "id": unique("evt"),
        "type": "payment_intent.succeeded",
        "created": 1_764_000_000,
        "data": {"object": {"id": gateway_intent, "object": "payment_intent", "status": "succeeded"}},
    })
    .to_string();
    post_gateway_event(h, "test", WEBHOOK_SECRET, &body).await
}

#[tokio::test]
async fn a_card_that_authenticates_then_succeeds_writes_every_event_of_the_way() {
    let h = Harness::new().await;
    let owner = unique("payer");
    let invoice = unique("INV");
    register(&h, "invoice", &invoice, &owner, "30.00", "USD").await;
    let created = create(&h, &owner, json!({"invoiceId": invoice})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().expect("id").to_owned();
    let gateway_intent = created.body["gatewayIntentId"]
        .as_str()
        .expect("gateway id")
        .to_owned();
    assert_eq!(types(&events_of(&h, &id).await), ["payment_intent.created"]);

    later(&h);
    let r = confirm(&h, &owner, &id, "pm_card_authenticationRequired").await;
    assert_eq!(r.body["status"], "RequiresAction", "{}", r.body);
    let waiting = events_of(&h, &id).await;
    assert_eq!(
        types(&waiting),
        ["payment_intent.requires_action", "payment_intent.created"]
    );
    assert_eq!(
        waiting[0]["data"]["object"]["next_action"]["type"],
        "redirect_to_url"
    );

    later(&h);
    let r = deliver_succeeded(&h, &gateway_intent).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let of_intent = events_of(&h, &id).await;
    assert_eq!(
        types(&of_intent),
        [
            "payment_intent.succeeded",
            "payment_intent.requires_action",
            "payment_intent.created"
        ]
    );
    let succeeded = &of_intent[0];
    well_formed(succeeded, "payment_intent");
    let intent = &succeeded["data"]["object"];
    assert_eq!(intent["id"], id.as_str());
    assert_eq!(intent["status"], "succeeded");
    assert_eq!(
        (&intent["amount"], &intent["currency"]),
        (&json!(3000), &json!("USD"))
    );
    assert_eq!(intent["payable"], json!({"kind": "invoice", "id": invoice}));
    assert_eq!(intent["customer"], owner.as_str());
    assert!(
        !succeeded.to_string().contains("secret"),
        "no client secret in an event: {succeeded}"
    );

    // The payment and the paid invoice, written by the same change.
    let created_payments = list(&h, &[("type", "payment.created")]).await;
    let payment = created_payments.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|e| e["data"]["object"]["intent_id"] == id.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("payment.created: {}", created_payments.body));
    well_formed(&payment, "payment");
    let payment_id = payment["data"]["object"]["id"].as_str().expect("id");
    let of_payment = events_of(&h, payment_id).await;
    assert_eq!(types(&of_payment), ["payment.completed", "payment.created"]);
    let completed = &of_payment[0]["data"]["object"];
    assert_eq!(completed["status"], "COMPLETED");
    assert_eq!(
        (&completed["amount"], &completed["fee"], &completed["net"]),
        (&json!(3000), &json!(117), &json!(2883))
    );
    assert_eq!(
        completed["payable"],
        json!({"kind": "invoice", "id": invoice})
    );
    let of_invoice = events_of(&h, &format!("invoice/{invoice}")).await;
    assert_eq!(types(&of_invoice), ["payable.paid"]);
    well_formed(&of_invoice[0], "payable");
    let paid = &of_invoice[0]["data"]["object"];
    assert_eq!(
        (&paid["id"], &paid["kind"], &paid["status"]),
        (&json!(invoice), &json!("invoice"), &json!("paid"))
    );
    assert_eq!(
        (&paid["amount"], &paid["amount_paid"]),
        (&json!(3000), &json!(3000))
    );
    assert_eq!(
        of_invoice[0]["created"], succeeded["created"],
        "one change, one time"
    );

    // A webhook delivered again changes nothing, and announces nothing.
    let r = deliver_succeeded(&h, &gateway_intent).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(events_of(&h, &id).await.len(), 3);
}

#[tokio::test]
async fn a_declined_card_then_a_cancel_are_announced() {
    let h = Harness::new().await;
    let owner = unique("payer");
    let invoice = unique("INV");
    register(&h, "invoice", &invoice, &owner, "30.00", "USD").await;
    let created = create(&h, &owner, json!({"invoiceId": invoice})).await;
    let id = created.body["id"].as_str().expect("id").to_owned();
    later(&h);
    let r = confirm(&h, &owner, &id, "pm_card_chargeDeclined").await;
    assert_eq!(r.body["status"], "RequiresPaymentMethod", "{}", r.body);
    let declined = events_of(&h, &id).await;
    assert_eq!(
        types(&declined),
        ["payment_intent.payment_failed", "payment_intent.created"]
    );
    let object = &declined[0]["data"]["object"];
    assert_eq!(object["status"], "requires_payment_method");
    assert_eq!(object["failure_reason"], "card_declined");
    assert!(object["failed_at"].is_i64(), "{object}");

    later(&h);
    let r = invoke(
        &h,
        payment_intents::cancel,
        call(Method::POST, &format!("{ROOT}/{id}/cancel"))
            .param("id", &id)
            .as_user(&owner),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ended = events_of(&h, &id).await;
    assert_eq!(
        types(&ended),
        [
            "payment_intent.canceled",
            "payment_intent.payment_failed",
            "payment_intent.created"
        ]
    );
    assert_eq!(
        ended[0]["data"]["object"]["cancellation_reason"],
        "requested_by_customer"
    );
    assert!(
        events_of(&h, &format!("invoice/{invoice}"))
            .await
            .is_empty(),
        "an invoice freed again announces nothing"
    );
}

#[tokio::test]
async fn an_otp_intent_announces_its_code_and_its_payment_and_a_failed_one_its_failure() {
    let h = Harness::new().await;
    let user = unique("user");
    let registration = unique("REG");
    register(&h, "registration", &registration, &user, "112.00", "USD").await;
    let intent = a_create(&h, &user, &registration).await;
    later(&h);
    let r = request_otp(&h, &user, &intent).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let code = latest_otp(&format!("{user}@example.com")).await;
    assert_eq!(
        types(&events_of(&h, &intent).await),
        ["payment_intent.requires_action", "payment_intent.created"]
    );
    later(&h);
    let r = confirm_otp(&h, &user, &intent, &code).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let payment_id = r.body["payment_id"].as_str().expect("payment id");
    assert_eq!(
        types(&events_of(&h, &intent).await),
        [
            "payment_intent.succeeded",
            "payment_intent.requires_action",
            "payment_intent.created"
        ]
    );
    let of_payment = events_of(&h, payment_id).await;
    assert_eq!(types(&of_payment), ["payment.completed", "payment.created"]);
    assert_eq!(
        of_payment[0]["data"]["object"]["payment_method"],
        "email_otp"
    );
    assert_eq!(
        types(&events_of(&h, &format!("registration/{registration}")).await),
        ["payable.paid"]
    );

    // Marked failed by its payer: payment_failed.
    let other = unique("REG");
    register(&h, "registration", &other, &user, "10.00", "USD").await;
    let opened = a_create(&h, &user, &other).await;
    later(&h);
    let r = invoke(
        &h,
        intents::fail,
        call(Method::POST, "/payment/intents/fail")
            .as_user(&user)
            .json(json!({"intent_id": opened})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let failed = events_of(&h, &opened).await;
    assert_eq!(
        types(&failed),
        ["payment_intent.payment_failed", "payment_intent.created"]
    );
    assert_eq!(failed[0]["data"]["object"]["status"], "failed");
}

async fn a_create(h: &Harness, user: &str, registration: &str) -> String {
    let r = integration_tests::flows::create(h, user, registration).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["intent_id"].as_str().expect("intent id").to_owned()
}

#[tokio::test]
async fn a_pending_payment_completed_by_mark_paid_is_announced_with_the_rest() {
    let h = Harness::new().await;
    let owner = unique("shopper");
    let order = integration_tests::flows::order(&h, &owner, "112.00", "USD").await;
    let pending = invoke(
        &h,
        payments::create,
        call(Method::POST, "/payment").as_user(&owner).json(
            json!({"amount": 40, "orderId": order, "paymentMethod": "Bkash", "status": "PENDING"}),
        ),
    )
    .await;
    assert_eq!(pending.status, 201, "{}", pending.body);
    let pending_id = pending.body["id"].as_str().expect("id");
    let recorded = events_of(&h, pending_id).await;
    assert_eq!(types(&recorded), ["payment.created"]);
    assert_eq!(recorded[0]["data"]["object"]["status"], "PENDING");
    assert_eq!(
        (
            &recorded[0]["data"]["object"]["amount"],
            &recorded[0]["data"]["object"]["fee"]
        ),
        (&json!(4000), &json!(0))
    );

    later(&h);
    let r = invoke(
        &h,
        shop::mark_paid,
        call(Method::POST, "/")
            .api_key(API_KEY)
            .param("orderId", &order),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let settled = events_of(&h, pending_id).await;
    assert_eq!(types(&settled), ["payment.completed", "payment.created"]);
    assert_eq!(settled[0]["data"]["object"]["status"], "COMPLETED");
    let of_order = events_of(&h, &format!("order/{order}")).await;
    assert_eq!(types(&of_order), ["payable.paid"]);
    assert_eq!(of_order[0]["data"]["object"]["amount_paid"], 11200);
    // The rest, recorded COMPLETED by mark-paid.
    let completed = list(&h, &[("type", "payment.completed")]).await;
    let rest: Vec<&Value> = completed.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter(|e| e["data"]["object"]["id"] != pending_id)
        .collect();
    assert_eq!(rest.len(), 1, "{}", completed.body);
    assert_eq!(rest[0]["data"]["object"]["amount"], 7200);
    assert_eq!(
        types(&events_of(&h, rest[0]["data"]["object"]["id"].as_str().expect("id")).await),
        ["payment.completed", "payment.created"]
    );
    // Called again: nothing changes, nothing is announced.
    let again = invoke(
        &h,
        shop::mark_paid,
        call(Method::POST, "/")
            .api_key(API_KEY)
            .param("orderId", &order),
    )
    .await;
    assert_eq!(again.status, 200);
    assert_eq!(events_of(&h, &format!("order/{order}")).await.len(), 1);
}

#[tokio::test]
async fn the_list_filters_pages_and_refuses_what_it_does_not_take() {
    let h = Harness::new().await;
    let user = new_user();
    let stores = Stores::sharing(h.store.clone());
    let mut ids = Vec::new();
    for _ in 0..12 {
        let mut intent = new_intent(&user, None, GatewayId::Test);
        stores.intents.open_intent(&mut intent).await.expect("open");
        ids.push(intent.id().to_string());
    }
    ids.reverse();

    // Stripe's default page: 10, then the rest.
    let first = list(&h, &[]).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.header("content-type"), Some("application/json"));
    let data = first.body["data"].as_array().expect("data");
    assert_eq!(data.len(), 10);
    assert_eq!(first.body["has_more"], true);
    let cursor = first.body["next_cursor"].as_str().expect("cursor");
    let second = list(&h, &[("cursor", cursor)]).await;
    assert_eq!(second.body["has_more"], false);
    assert_eq!(second.body["next_cursor"], Value::Null);
    let listed: Vec<&str> = data
        .iter()
        .chain(second.body["data"].as_array().expect("data"))
        .map(|e| e["data"]["object"]["id"].as_str().expect("id"))
        .collect();
    assert_eq!(listed, ids, "newest first, each once");

    for (limit, count) in [("1", 1), ("100", 12)] {
        let r = list(&h, &[("limit", limit)]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"].as_array().expect("data").len(), count);
    }
    let by_type = list(&h, &[("type", "payment_intent.created"), ("limit", "100")]).await;
    assert_eq!(by_type.body["data"].as_array().expect("data").len(), 12);
    let none = list(&h, &[("type", "payable.paid")]).await;
    assert_eq!(
        none.body,
        json!({"data": [], "has_more": false, "next_cursor": null})
    );
    let one = list(
        &h,
        &[
            ("object_id", ids[3].as_str()),
            ("type", "payment_intent.created"),
        ],
    )
    .await;
    let one = one.body["data"].as_array().expect("data");
    assert_eq!(one.len(), 1);
    assert_eq!(one[0]["data"]["object"]["id"], ids[3].as_str());

    // What it does not take: 400, with the field named.
    for (query, field) in [
        (vec![("limit", "0")], "limit"),
        (vec![("limit", "101")], "limit"),
        (vec![("limit", "ten")], "limit"),
        (vec![("type", "payment_intent.processing")], "type"),
        (vec![("object_id", "")], "object_id"),
        (vec![("object_id", "a b")], "object_id"),
    ] {
        let r = list(&h, &query).await;
        assert_eq!(r.status, 400, "{query:?}: {}", r.body);
        assert_eq!(r.body["message"], "Validation failed");
        assert_eq!(r.body["errors"][0]["field"], field, "{}", r.body);
    }
    let typed_cursor = list(&h, &[("type", "payment_intent.created"), ("limit", "1")]).await;
    let foreign = typed_cursor.body["next_cursor"].as_str().expect("cursor");
    for query in [
        vec![("cursor", "not-a-cursor")],
        vec![("cursor", foreign)],
        vec![("cursor", foreign), ("object_id", ids[0].as_str())],
    ] {
        let r = list(&h, &query).await;
        assert_eq!(r.status, 400, "{query:?}: {}", r.body);
        assert_eq!(r.body, json!({"message": "Invalid pagination cursor"}));
    }

    // Only an API key: no key, a wrong one, or a person's token is 401.
    for c in [
        list_call(),
        list_call().api_key("not-the-key"),
        list_call().bearer(&token("someone", &["Admin"])),
    ] {
        let r = invoke(&h, events::list, c).await;
        assert_eq!(r.status, 401, "{}", r.body);
        assert_eq!(r.body, json!({"message": "Invalid API key"}));
    }
}

/// Every DynamoDB write request a store call makes: its operation and the
/// partition keys of the items it writes.
#[derive(Debug, Default)]
struct Writes(Mutex<Vec<(String, Vec<String>)>>);

#[derive(Debug)]
struct RecordWrites(Arc<Writes>);

impl Intercept for RecordWrites {
    fn name(&self) -> &'static str {
        "record-writes"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let operation = request
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or("?")
            .to_owned();
        let body: Value = request
            .body()
            .bytes()
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or(Value::Null);
        let pk = |v: &Value| v["pk"]["S"].as_str().map(str::to_owned);
        let keys: Vec<String> = match operation.as_str() {
            "TransactWriteItems" => body["TransactItems"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|i| pk(&i["Put"]["Item"]).or_else(|| pk(&i["Update"]["Key"])))
                .collect(),
            "PutItem" => pk(&body["Item"]).into_iter().collect(),
            "UpdateItem" | "DeleteItem" => pk(&body["Key"]).into_iter().collect(),
            _ => return Ok(()),
        };
        self.0
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((operation, keys));
        Ok(())
    }
}

impl Writes {
    /// The writes since the last call, as `OPERATION [PREFIX#, …]`.
    fn take(&self) -> Vec<(String, Vec<String>)> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
            .into_iter()
            .map(|(op, keys)| {
                let prefixes = keys
                    .iter()
                    .map(|k| format!("{}#", k.split('#').next().unwrap_or_default()))
                    .collect();
                (op, prefixes)
            })
            .collect()
    }
}

/// Each change is one request to DynamoDB that holds its events: there is no
/// moment at which the change is stored and its events are not, or the other
/// way round, for any crash or lost race to land in.
#[tokio::test]
async fn each_change_and_its_events_are_one_transact_write_items() {
    let h = Harness::new().await;
    let writes = Arc::new(Writes::default());
    let sdk = aws().await;
    let recorded = aws_sdk_dynamodb::config::Builder::from(&sdk)
        .interceptor(RecordWrites(writes.clone()))
        .build();
    let store = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::from_conf(recorded),
        h.store.table_name(),
    ));
    let s = Stores::sharing(store);
    let one = |op: &str, keys: &[&str]| {
        vec![(
            op.to_owned(),
            keys.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>(),
        )]
    };

    let order = stored_order(&s, &new_user(), 5_000).await;
    writes.take();
    let mut intent = open_on(&s, &order).await;
    assert_eq!(
        writes.take(),
        one("TransactWriteItems", &["PAYABLE#", "INTENT#", "EVENT#"]),
        "claim, intent, payment_intent.created"
    );

    let expected = Expected::of(&intent);
    let action = Confirmation::RequiresAction {
        next_action: payment_shared::domain::NextAction {
            kind: "redirect_to_url".into(),
            url: None,
        },
    };
    intent
        .apply_confirmation(&action, h.clock.now())
        .expect("action");
    s.intents
        .save_intent(&mut intent, expected)
        .await
        .expect("save");
    assert_eq!(
        writes.take(),
        one("TransactWriteItems", &["INTENT#", "EVENT#"]),
        "the intent and payment_intent.requires_action"
    );
    // A change that announces nothing stays one conditional PutItem.
    let expected = Expected::of(&intent);
    intent
        .apply_confirmation(&action, h.clock.now())
        .expect("asked again");
    s.intents
        .save_intent(&mut intent, expected)
        .await
        .expect("save");
    assert_eq!(writes.take(), one("PutItem", &["INTENT#"]));

    let (mut done, payment) = succeed(&intent);
    s.intents
        .finish_intent(&mut done, Expected::of(&intent), Some(&payment))
        .await
        .expect("finish");
    assert_eq!(
        writes.take(),
        one(
            "TransactWriteItems",
            &[
                "INTENT#", "PAYABLE#", "PAYMENT#", "EVENT#", "EVENT#", "EVENT#", "EVENT#"
            ]
        ),
        "succeeded, payment.created, payment.completed, payable.paid with their changes"
    );

    let other = stored_order(&s, &new_user(), 5_000).await;
    writes.take();
    let pending = record_of(&other, 1_000, PaymentStatus::Pending);
    s.payments
        .record_payment(&pending, &other)
        .await
        .expect("record");
    assert_eq!(
        writes.take(),
        one("TransactWriteItems", &["PAYABLE#", "PAYMENT#", "EVENT#"])
    );
    let read = s
        .payables
        .get_payable(other.payable())
        .await
        .expect("read")
        .expect("order");
    let mut completing = pending.clone();
    completing
        .complete(&payment_shared::domain::FeeSchedule::standard())
        .expect("pending");
    let rest = record_of(&read, 4_000, PaymentStatus::Completed);
    s.payables
        .complete_payable(&read, &[completing], Some(&rest), h.clock.now())
        .await
        .expect("settle");
    assert_eq!(
        writes.take(),
        one(
            "TransactWriteItems",
            &[
                "PAYABLE#", "PAYMENT#", "PAYMENT#", "EVENT#", "EVENT#", "EVENT#", "EVENT#"
            ]
        ),
        "payment.completed, payment.created and .completed of the rest, payable.paid"
    );

    let mut ended = new_intent(&new_user(), None, GatewayId::Test);
    s.intents.open_intent(&mut ended).await.expect("open");
    let expected = Expected::of(&ended);
    ended
        .cancel("requested_by_customer", h.clock.now())
        .expect("cancel");
    s.intents
        .finish_intent(&mut ended, expected, None)
        .await
        .expect("cancel");
    assert_eq!(
        writes.take(),
        vec![
            (
                "TransactWriteItems".to_owned(),
                vec!["INTENT#".to_owned(), "EVENT#".to_owned()]
            ),
            (
                "TransactWriteItems".to_owned(),
                vec!["INTENT#".to_owned(), "EVENT#".to_owned()]
            ),
        ],
        "opened, then canceled: each with its event"
    );
    assert_eq!(ended.status(), IntentStatus::Canceled);
}

/// The event items in the table, by scanning it (tests may; requests never do).
async fn event_items(h: &Harness) -> usize {
    let mut count = 0;
    let mut start = None;
    loop {
        let out = h
            .dynamo
            .scan()
            .table_name(h.store.table_name())
            .filter_expression("begins_with(pk, :event)")
            .expression_attribute_values(
                ":event",
                aws_sdk_dynamodb::types::AttributeValue::S("EVENT#".into()),
            )
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .expect("scan");
        count += out.items.unwrap_or_default().len();
        start = out.last_evaluated_key;
        if start.is_none() {
            return count;
        }
    }
}

/// A change that loses its condition writes no event: the events are part of
/// the very write that lost.
#[tokio::test]
async fn a_change_that_loses_its_condition_leaves_no_event_in_the_table() {
    let h = Harness::new().await;
    let s = Stores::sharing(h.store.clone());
    let order = stored_order(&s, &new_user(), 5_000).await;
    let intent = open_on(&s, &order).await;
    assert_eq!(event_items(&h).await, 1);

    // Two writers read the same intent; the second one's change loses.
    let read = Expected::of(&intent);
    let mut canceled = intent.clone();
    canceled
        .cancel("requested_by_customer", h.clock.now())
        .expect("cancel");
    s.intents
        .finish_intent(&mut canceled, read, None)
        .await
        .expect("first wins");
    assert_eq!(event_items(&h).await, 2);
    let (mut done, payment) = succeed(&intent);
    let lost = s
        .intents
        .finish_intent(&mut done, read, Some(&payment))
        .await;
    assert!(lost.is_err(), "{lost:?}");
    let lost = s.intents.save_intent(&mut canceled, read).await;
    assert!(lost.is_err(), "{lost:?}");
    assert_eq!(
        event_items(&h).await,
        2,
        "no event of a change that was not made"
    );
    assert!(
        s.payments
            .get_payment(&payment.id())
            .await
            .expect("read")
            .is_none(),
        "nor the change"
    );
}
