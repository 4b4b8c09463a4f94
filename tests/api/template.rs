//! What the deployment template promises operators: a throttled, access-logged
//! API and logs that expire, for every function; and each function's access
//! to the table, no wider than what its code does.

use std::collections::{BTreeMap, BTreeSet};

use payment_shared::adapters::dynamo::table::{ALL_INTENTS, BY_PAYABLE, BY_USER};
use payment_shared::routes::{self, FedBy, Needs};
use serde_yaml::Value;

fn template() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml"))
        .expect("template.yaml");
    serde_yaml::from_str(&text).expect("template parses")
}

/// `!Ref Name` as serde_yaml reads it.
fn is_ref(value: &Value, name: &str) -> bool {
    match value {
        Value::Tagged(tagged) => tagged.tag == "!Ref" && tagged.value.as_str() == Some(name),
        _ => false,
    }
}

/// `!Sub "…"` text.
fn sub(value: &Value) -> Option<&str> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "!Sub" => tagged.value.as_str(),
        _ => None,
    }
}

#[test]
fn every_function_logs_to_a_group_that_expires() {
    let template = template();
    let resources = template["Resources"].as_mapping().expect("resources");
    let functions: Vec<&str> = resources
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .map(|(name, _)| name.as_str().expect("name"))
        .collect();
    assert!(functions.len() >= 34);
    for function in functions {
        let group = resources
            .values()
            .find(|r| {
                r["Type"].as_str() == Some("AWS::Logs::LogGroup")
                    && sub(&r["Properties"]["LogGroupName"])
                        == Some(format!("/aws/lambda/${{{function}}}").as_str())
            })
            .unwrap_or_else(|| panic!("{function} has a log group of its own"));
        assert!(
            is_ref(&group["Properties"]["RetentionInDays"], "LogRetentionDays"),
            "{function}'s logs expire"
        );
    }
    assert_eq!(template["Parameters"]["LogRetentionDays"]["Default"], 30);
}

#[test]
fn the_api_is_throttled_and_access_logged() {
    let template = template();
    let api = &template["Resources"]["HttpApi"]["Properties"];
    let route = &api["DefaultRouteSettings"];
    assert!(is_ref(&route["ThrottlingRateLimit"], "ThrottlingRateLimit"));
    assert!(is_ref(
        &route["ThrottlingBurstLimit"],
        "ThrottlingBurstLimit"
    ));
    let format = api["AccessLogSettings"]["Format"]
        .as_str()
        .expect("access log format");
    for field in ["$context.requestId", "$context.routeKey", "$context.status"] {
        assert!(format.contains(field), "{field}");
    }
    // Nothing in an access log line may carry a credential or an address.
    for leaky in [
        "$context.identity",
        "$context.authorizer",
        "header",
        "querystring",
    ] {
        assert!(
            !format.to_lowercase().contains(&leaky.to_lowercase()),
            "{leaky}"
        );
    }
    let logs = &template["Resources"]["ApiAccessLogs"];
    assert!(is_ref(
        &logs["Properties"]["RetentionInDays"],
        "LogRetentionDays"
    ));
}

#[test]
fn no_function_may_batch_read_the_table() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml"))
        .expect("template.yaml");
    assert!(
        !text.contains("dynamodb:BatchGetItem"),
        "nothing batch-reads"
    );
    assert!(
        !text.contains("dynamodb:Scan"),
        "a request path never scans"
    );
}

/// The partition key prefixes the DynamoDB adapter writes (`adapters/dynamo/keys.rs`,
/// the gateway intent and refund id lookup items, events, the idempotency
/// ledger, the replay guard, the webhook endpoints' one partition and the
/// deliveries' lanes).
const PREFIXES: [&str; 11] = [
    "INTENT#*",
    "PAYABLE#*",
    "PAYMENT#*",
    "REFUND#*",
    "EVENT#*",
    "GATEWAY_INTENT#*",
    "GATEWAY_REFUND#*",
    "IDEMPOTENCY#*",
    "REPLAY#*",
    "WEBHOOK_ENDPOINTS",
    "WEBHOOK_LANE#*",
];

/// The partitions a function's line in `routes` says it writes, as its
/// `TableWrite` must grant them.
fn writes_of(binary: &str) -> BTreeSet<&'static str> {
    routes::function(binary)
        .unwrap_or_else(|| panic!("{binary} has a line in payment_shared::routes"))
        .writes
        .iter()
        .copied()
        .collect()
}

/// Each function's `TableWrite` grants exactly the partitions its line in
/// `routes` declares, and a function whose line writes nothing has none.
#[test]
fn each_function_writes_only_the_partitions_it_needs() {
    let template = template();
    let mut writers = BTreeSet::new();
    for (_, resource) in template["Resources"].as_mapping().expect("resources") {
        let binary = binary_of(resource);
        let Some(policies) = resource["Properties"]["Policies"].as_sequence() else {
            continue;
        };
        for statement in policies
            .iter()
            .filter_map(|p| p["Statement"].as_sequence())
            .flatten()
            .filter(|s| s["Sid"].as_str() == Some("TableWrite"))
        {
            let keys: BTreeSet<&str> =
                statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
                    .as_sequence()
                    .unwrap_or_else(|| panic!("{binary}: writes are limited by partition"))
                    .iter()
                    .map(|k| k.as_str().expect("prefix"))
                    .collect();
            assert_eq!(keys, writes_of(binary), "{binary}");
            assert!(writers.insert(binary), "{binary}: one TableWrite");
        }
    }
    let declared: BTreeSet<&str> = routes::FUNCTIONS
        .iter()
        .filter(|f| !f.writes.is_empty())
        .map(|f| f.binary)
        .collect();
    assert_eq!(
        writers, declared,
        "every endpoint that changes something, the Partner API's replay guard, the webhook deliverers, the refund pass, and only those"
    );
}

/// What the registry's write declarations must keep to, whoever adds a line.
#[test]
fn declared_writes_keep_to_the_partitions_each_kind_of_function_needs() {
    let template = template();
    let webhook_endpoint_routes = routes_under(&template, "/api/v1/webhook-endpoints");
    for function in routes::FUNCTIONS.iter().filter(|f| !f.writes.is_empty()) {
        let binary = function.binary;
        let keys = function.writes;
        assert!(
            keys.iter().all(|k| PREFIXES.contains(k)),
            "{binary}: {keys:?}"
        );
        let has = |key: &str| keys.contains(&key);
        // The Partner API reads; the one item it writes is a used signature.
        if has("REPLAY#*") {
            assert_eq!(keys, ["REPLAY#*"], "{binary}");
            continue;
        }
        // Only the Webhook endpoints API writes endpoints (the function
        // that deletes them may only delete them); only the delivering
        // functions write deliveries, and nothing else.
        if has("WEBHOOK_ENDPOINTS") {
            assert!(webhook_endpoint_routes.contains(binary), "{binary}");
        }
        let delivers = function.needs == Needs::DeliverySender;
        assert_eq!(has("WEBHOOK_LANE#*"), delivers, "{binary}");
        if delivers {
            assert_eq!(keys, ["WEBHOOK_LANE#*"], "{binary}");
            continue;
        }
        // Every write endpoint honours Idempotency-Key; the functions AWS
        // feeds answer no request, so there is no key to honour.
        assert_eq!(
            has("IDEMPOTENCY#*"),
            function.fed_by == FedBy::Api,
            "{binary}"
        );
        // Every change of an intent, a payment or a refund writes its
        // events in the same transaction: whatever writes those writes events.
        assert_eq!(
            has("EVENT#*"),
            has("INTENT#*") || has("PAYMENT#*") || has("REFUND#*"),
            "{binary}"
        );
        // A refund is written with its gateway's name for it, by what makes
        // it at a gateway, hears of it, or finishes it there; only what
        // opens an intent at a gateway names it by the gateway's id.
        assert_eq!(has("REFUND#*"), has("GATEWAY_REFUND#*"), "{binary}");
        if has("REFUND#*") || has("GATEWAY_INTENT#*") {
            assert_eq!(function.needs, Needs::Gateways, "{binary}");
        }
    }
}

/// The binaries with a route under `prefix`.
fn routes_under<'a>(template: &'a Value, prefix: &str) -> BTreeSet<&'a str> {
    let mut found = BTreeSet::new();
    for (_, resource) in template["Resources"].as_mapping().expect("resources") {
        let Some(events) = resource["Properties"]["Events"].as_mapping() else {
            continue;
        };
        if events.values().any(|e| {
            e["Type"] == "HttpApi"
                && e["Properties"]["Path"]
                    .as_str()
                    .is_some_and(|p| p.starts_with(prefix))
        }) {
            found.insert(binary_of(resource));
        }
    }
    found
}

/// Each function is invoked as its line in `routes` says: routed ones by
/// the HTTP API alone, the webhook dispatcher by the table's stream, the
/// passes by a schedule.
#[test]
fn each_function_is_fed_as_its_line_says() {
    let template = template();
    let mut functions = BTreeSet::new();
    for (id, resource) in template["Resources"].as_mapping().expect("resources") {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let id = id.as_str().expect("logical id");
        let binary = binary_of(resource);
        let declared = routes::function(binary)
            .unwrap_or_else(|| panic!("{id}: {binary} has a line in payment_shared::routes"));
        let expected = match declared.fed_by {
            FedBy::Api => "HttpApi",
            FedBy::Stream => "DynamoDB",
            FedBy::Schedule => "Schedule",
        };
        let events = resource["Properties"]["Events"]
            .as_mapping()
            .unwrap_or_else(|| panic!("{id}: no events"));
        for event in events.values() {
            assert_eq!(event["Type"].as_str(), Some(expected), "{id}");
        }
        functions.insert(binary);
    }
    let declared: BTreeSet<&str> = routes::FUNCTIONS.iter().map(|f| f.binary).collect();
    assert_eq!(functions, declared);
}

/// The partition prefixes a function's statement `sid` is limited to, if it is.
fn leading_keys<'a>(resource: &'a Value, sid: &str) -> Option<Vec<&'a str>> {
    resource["Properties"]["Policies"]
        .as_sequence()?
        .iter()
        .filter_map(|p| p["Statement"].as_sequence())
        .flatten()
        .find(|s| s["Sid"].as_str() == Some(sid))?["Condition"]["ForAllValues:StringLike"]
        ["dynamodb:LeadingKeys"]
        .as_sequence()
        .map(|keys| keys.iter().filter_map(Value::as_str).collect())
}

/// A function whose reads are limited by partition still reads what its
/// writes need: a write that pays a payable reads it first, since its
/// `payable.paid` event shows the payable as paid.
#[test]
fn limited_reads_cover_the_payables_that_payments_pay() {
    let template = template();
    let mut limited = 0;
    for (_, resource) in template["Resources"].as_mapping().expect("resources") {
        let (Some(reads), Some(writes)) = (
            leading_keys(resource, "TableRead"),
            leading_keys(resource, "TableWrite"),
        ) else {
            continue;
        };
        limited += 1;
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_default();
        // What records a payment also changes the intent it pays through;
        // making or finishing a refund changes its payment's refunded sums
        // and no intent: it pays nothing.
        let pays = writes.contains(&"PAYMENT#*") && writes.contains(&"INTENT#*");
        if pays {
            assert!(reads.contains(&"PAYABLE#*"), "{binary}: {reads:?}");
        }
    }
    assert!(limited >= 1, "the webhook's reads are limited");
}

/// Every IAM statement in `value` (a resource, or the whole template), however
/// deep it sits.
fn statements_in<'a>(value: &'a Value, found: &mut Vec<&'a Value>) {
    match value {
        Value::Mapping(m) if m.contains_key("Effect") => found.push(value),
        Value::Mapping(m) => m.values().for_each(|v| statements_in(v, found)),
        Value::Sequence(s) => s.iter().for_each(|v| statements_in(v, found)),
        Value::Tagged(t) => statements_in(&t.value, found),
        _ => {}
    }
}

/// One or many, as IAM takes them (`Action`, `Resource`, a condition's values).
fn one_or_many(value: &Value) -> Vec<&Value> {
    match value {
        Value::Sequence(many) => many.iter().collect(),
        Value::Null => Vec::new(),
        one => vec![one],
    }
}

/// IAM's matching of an action pattern (`*` and `?`, any case) against an action.
fn action_matches(pattern: &str, action: &str) -> bool {
    fn go(p: &[u8], a: &[u8]) -> bool {
        match (p.first(), a.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], a) || (!a.is_empty() && go(p, &a[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &a[1..]),
            (Some(x), Some(y)) if x.eq_ignore_ascii_case(y) => go(&p[1..], &a[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), action.as_bytes())
}

/// Whether `statement` lets its holder call `action`, whatever it names it.
fn grants(statement: &Value, action: &str) -> bool {
    let named = |key: &str| {
        one_or_many(&statement[key])
            .iter()
            .filter_map(|a| a.as_str())
            .any(|pattern| action_matches(pattern, action))
    };
    statement["Effect"] == "Allow"
        && if statement["NotAction"].is_null() {
            named("Action")
        } else {
            !named("NotAction")
        }
}

/// The partitions a statement is limited to (`dynamodb:LeadingKeys`), if it is.
fn limited_to(statement: &Value) -> Option<BTreeSet<&str>> {
    statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
        .as_sequence()
        .map(|keys| keys.iter().filter_map(Value::as_str).collect())
}

/// The indexes a statement names (`*` for a resource that would take any).
fn indexes_named(statement: &Value) -> BTreeSet<&str> {
    one_or_many(&statement["Resource"])
        .into_iter()
        .filter_map(|r| {
            let arn = r.as_str().or_else(|| sub(r))?;
            match arn.split_once("/index/") {
                Some((_, index)) => Some(index),
                None => arn.contains('*').then_some("*"),
            }
        })
        .collect()
}

/// `!GetAtt Table.Arn`: the table itself, none of its indexes.
fn is_the_table(resource: &Value) -> bool {
    matches!(resource, Value::Tagged(t) if t.tag == "!GetAtt" && t.value.as_str() == Some("Table.Arn"))
}

fn binary_of(resource: &Value) -> &str {
    resource["Metadata"]["BuildProperties"]["Binary"]
        .as_str()
        .unwrap_or_default()
}

/// Who may delete what in the table, traced from the code. Only two kinds of
/// item are ever deleted (`delete_item` in `adapters/dynamo`; no transaction
/// deletes, no batch write exists):
/// - an Idempotency-Key's claim (`IdempotencyStore::release`, `IDEMPOTENCY#…`),
///   let go when the answer is transient (a lost race, a cooldown, any 5xx) so
///   that a retry runs again. Every endpoint that honours Idempotency-Key (the
///   pipeline's `settle`, for each API's `CHANGE` endpoint) can let one go; so
///   can the gateways' webhook, which claims each event id in the same ledger
///   and lets the claim go when acting on the event failed, so that the
///   gateway's redelivery runs it again.
/// - a webhook endpoint (`WebhookEndpointStore::delete_endpoint`, in the one
///   partition of every endpoint), by the function that deletes endpoints.
///
/// Payments, intents, payables, refunds and events are never deleted by a
/// function: what expires, TTL removes.
///
/// Each function's line in `routes` declares what it deletes (`deletes`).
fn deletes() -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    routes::FUNCTIONS
        .iter()
        .filter(|f| !f.deletes.is_empty())
        .map(|f| (f.binary, f.deletes.iter().copied().collect()))
        .collect()
}

/// The binaries whose route the API document says honours Idempotency-Key,
/// and the binaries whose route deletes (HTTP DELETE).
fn idempotent_and_deleting_routes(template: &Value) -> (BTreeSet<&str>, BTreeSet<&str>) {
    let doc = payment_shared::surfaces::docs::document();
    let (mut idempotent, mut deleting) = (BTreeSet::new(), BTreeSet::new());
    for (_, resource) in template["Resources"].as_mapping().expect("resources") {
        let Some(events) = resource["Properties"]["Events"].as_mapping() else {
            continue;
        };
        for event in events.values().filter(|e| e["Type"] == "HttpApi") {
            let method = event["Properties"]["Method"].as_str().expect("method");
            let path = event["Properties"]["Path"].as_str().expect("path");
            let operation = &doc["paths"][path][method.to_ascii_lowercase()];
            let parameters = operation["parameters"].as_array().cloned();
            if parameters
                .unwrap_or_default()
                .iter()
                .any(|p| p["in"] == "header" && p["name"].as_str() == Some("Idempotency-Key"))
            {
                idempotent.insert(binary_of(resource));
            }
            if method.eq_ignore_ascii_case("DELETE") {
                deleting.insert(binary_of(resource));
            }
        }
    }
    (idempotent, deleting)
}

/// DeleteItem is granted apart from every other write, to the functions that
/// delete and on only the partitions they delete: a function that can only
/// put and update a partition cannot empty it.
#[test]
fn only_what_deletes_may_delete_and_only_what_it_deletes() {
    let template = template();
    let mut granted: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (id, resource) in template["Resources"].as_mapping().expect("resources") {
        let id = id.as_str().expect("logical id");
        // A SAM policy template or a managed policy would grant DeleteItem
        // where no statement here shows it.
        for policy in one_or_many(&resource["Properties"]["Policies"]) {
            assert!(
                policy["Statement"].is_sequence(),
                "{id}: inline statements only"
            );
        }
        let mut statements = Vec::new();
        statements_in(resource, &mut statements);
        for statement in statements
            .into_iter()
            .filter(|s| grants(s, "dynamodb:DeleteItem"))
        {
            assert_eq!(statement["Sid"], "TableDelete", "{id}");
            let only_deletes = one_or_many(&statement["Action"]).len() == 1
                && statement["NotAction"].is_null()
                && !grants(statement, "dynamodb:PutItem")
                && !grants(statement, "dynamodb:GetItem");
            assert!(only_deletes, "{id}: DeleteItem and nothing else");
            let resources = one_or_many(&statement["Resource"]);
            assert!(
                resources.len() == 1 && is_the_table(resources[0]),
                "{id}: {resources:?}"
            );
            let keys = limited_to(statement)
                .unwrap_or_else(|| panic!("{id}: deletes are limited by partition"));
            assert!(
                granted.insert(binary_of(resource), keys).is_none(),
                "{id}: one TableDelete"
            );
        }
    }
    let pinned = deletes();
    assert_eq!(granted, pinned);

    // The declared deletes, against what the API document says of each route:
    // every route that honours Idempotency-Key, and the gateways' webhook,
    // may let a key go; the one route that deletes deletes endpoints.
    let (idempotent, deleting) = idempotent_and_deleting_routes(&template);
    let releasing: BTreeSet<&str> = pinned
        .iter()
        .filter(|(_, keys)| keys.contains("IDEMPOTENCY#*"))
        .map(|(binary, _)| *binary)
        .filter(|binary| *binary != "payment-intents-webhook")
        .collect();
    assert_eq!(releasing, idempotent);
    let deleting_endpoints: BTreeSet<&str> = pinned
        .iter()
        .filter(|(_, keys)| keys.contains("WEBHOOK_ENDPOINTS"))
        .map(|(binary, _)| *binary)
        .collect();
    assert_eq!(deleting_endpoints, deleting);
    for binary in pinned.keys() {
        assert!(routes::BINARIES.contains(binary), "{binary}");
    }
}

/// Every list the table's indexes hold, by its partition key's prefix, as
/// the DynamoDB adapter writes them (`adapters/dynamo`: `keys.rs`, the
/// deliveries' and the events' items). Every one begins with a fixed
/// prefix, so every index read can be limited to the lists it reads; no
/// list is keyed by a bare id or value.
const INDEX_LISTS: [(&str, &str); 10] = [
    // A payer's intents and payments (`user_partition`).
    (BY_USER.name, "USER#*"),
    // An object's events (`object_events_partition`).
    (BY_USER.name, "EVENTS_OF#*"),
    // An endpoint's deliveries, newest first.
    (BY_USER.name, "WEBHOOK_DELIVERIES#*"),
    // A payable's intents and payments (`payable_pk`).
    (BY_PAYABLE.name, "PAYABLE#*"),
    // A payment's refunds (`refunds_of_partition`).
    (BY_PAYABLE.name, "REFUNDS_OF#*"),
    // One type's events, sharded (`typed_events_list`).
    (BY_PAYABLE.name, "EVENTS_TYPED#*"),
    // Every intent, sharded (`all_intents_partition`).
    (ALL_INTENTS.name, "INTENTS#*"),
    // Every event, sharded (`ALL_EVENTS_LIST`).
    (ALL_INTENTS.name, "EVENTS#*"),
    // The deliveries due, one list per endpoint (the retry pass's work), and
    // the shards of the one list they shared before.
    (ALL_INTENTS.name, "DELIVERIES_DUE#*"),
    // The refunds still unsent (the refund pass's work; `UNSENT_REFUNDS`).
    (ALL_INTENTS.name, "REFUNDS_UNSENT"),
];

/// A function reads from an index only the lists it shows. The indexes are
/// shared: beside payers' intents and payments, the by-user index holds every
/// object's events and every endpoint's deliveries, which a function listing
/// a payer's intents has no business reading. On an index,
/// `dynamodb:LeadingKeys` is the index's own partition key. One statement may
/// name several indexes and prefixes: each prefix is one index's, so together
/// they grant no list besides.
#[test]
fn each_index_read_is_limited_to_the_lists_its_function_reads() {
    let template = template();
    let lists: BTreeMap<&str, &str> = INDEX_LISTS
        .iter()
        .map(|(index, prefix)| (*prefix, *index))
        .collect();
    assert_eq!(lists.len(), INDEX_LISTS.len(), "each prefix in one index");
    let mut granted: BTreeMap<&str, (BTreeSet<&str>, BTreeSet<&str>)> = BTreeMap::new();
    for (id, resource) in template["Resources"].as_mapping().expect("resources") {
        let id = id.as_str().expect("logical id");
        let mut statements = Vec::new();
        statements_in(resource, &mut statements);
        for statement in statements {
            let indexes = indexes_named(statement);
            let reads = grants(statement, "dynamodb:Query") || grants(statement, "dynamodb:Scan");
            if indexes.is_empty() || !reads {
                continue;
            }
            let keys = limited_to(statement)
                .unwrap_or_else(|| panic!("{id}: {indexes:?} read without a partition limit"));
            assert_eq!(statement["Sid"], "IndexRead", "{id}");
            assert!(
                !grants(statement, "dynamodb:GetItem") && !grants(statement, "dynamodb:Scan"),
                "{id}: an index is only ever queried"
            );
            let (all_indexes, all_keys) = granted.entry(binary_of(resource)).or_default();
            all_indexes.extend(indexes);
            all_keys.extend(keys);
        }
    }
    // What each function lists is declared by its line in `routes` (`lists`),
    // traced from the code; every other function lists nothing and gets no
    // index at all. Table reads (GetItem, a lane's or the endpoints' Query)
    // are not index reads.
    let pinned: BTreeMap<&str, (BTreeSet<&str>, BTreeSet<&str>)> = routes::FUNCTIONS
        .iter()
        .filter(|f| !f.lists.is_empty())
        .map(|f| {
            let indexes = f
                .lists
                .iter()
                .map(|k| {
                    *lists
                        .get(k)
                        .unwrap_or_else(|| panic!("{}: {k} is no list", f.binary))
                })
                .collect();
            (f.binary, (indexes, f.lists.iter().copied().collect()))
        })
        .collect();
    assert_eq!(granted, pinned);
}

#[test]
fn every_function_is_told_where_stripe_is() {
    let template = template();
    let variables = &template["Globals"]["Function"]["Environment"]["Variables"];
    assert!(
        is_ref(&variables["STRIPE_API_BASE"], "StripeApiBase"),
        "{variables:?}"
    );
    assert_eq!(
        template["Parameters"]["StripeApiBase"]["Default"],
        "https://api.stripe.com"
    );
}

/// How long API Gateway's HTTP API waits for a function's answer.
const API_GATEWAY_WAITS_SECS: u64 = 30;

/// The Timeout of a function that waits on a payment gateway: its calls end
/// by the invocation's deadline less the time to store their outcome, and
/// it answers before API Gateway stops waiting.
const GATEWAY_FUNCTION_TIMEOUT_SECS: u64 = 28;

/// Whether `binary` answers a request and its main connects the payment
/// gateways (the functions that open, confirm, cancel or refund at one, or
/// take its webhooks), as its line in `routes` says.
fn reaches_a_gateway(binary: &str) -> bool {
    routes::function(binary).is_some_and(|f| f.fed_by == FedBy::Api && f.needs == Needs::Gateways)
}

#[test]
fn functions_that_wait_on_a_gateway_have_28_seconds_and_every_route_answers_in_time() {
    let template = template();
    let global = template["Globals"]["Function"]["Timeout"]
        .as_u64()
        .expect("a global Timeout");
    let local = local_gateway::template::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../template.yaml"
    )))
    .expect("the local stack reads the template");
    let mut reaching = BTreeSet::new();
    for (id, resource) in template["Resources"].as_mapping().expect("resources") {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let id = id.as_str().expect("logical id");
        let binary = binary_of(resource);
        let timeout = resource["Properties"]["Timeout"].as_u64().unwrap_or(global);
        let behind_the_api = resource["Properties"]["Events"]
            .as_mapping()
            .is_some_and(|events| events.values().any(|e| e["Type"] == "HttpApi"));
        if behind_the_api {
            assert!(timeout < API_GATEWAY_WAITS_SECS, "{id}: Timeout {timeout}");
        }
        if reaches_a_gateway(binary) {
            assert_eq!(timeout, GATEWAY_FUNCTION_TIMEOUT_SECS, "{id}");
            reaching.insert(binary);
        }
        // The local stack gives each invocation the same deadline.
        let served = local
            .iter()
            .find(|f| f.binary == binary)
            .expect("the local stack serves it");
        assert_eq!(served.timeout.as_secs(), timeout, "{id}");
    }
    for binary in [
        "payment-intents-confirm",
        "refunds-create",
        "payment-intents-webhook",
    ] {
        assert!(reaching.contains(binary), "{binary} reaches a gateway");
    }
    // A confirm's three calls (attach, confirm, read the fee) fit in that
    // time at their full attempt timeout, with room to store the outcome;
    // resends beyond it are cut by the request's deadline.
    let for_calls = std::time::Duration::from_secs(GATEWAY_FUNCTION_TIMEOUT_SECS)
        - payment_shared::ports::deadline::STORING_MARGIN;
    assert!(payment_shared::adapters::stripe::ATTEMPT_TIMEOUT * 3 <= for_calls);
}

/// What a deployment made with the defaults gets: no `test` gateway (it
/// approves cards without moving money), `stripe` as the one default, and
/// bearer tokens that must name the deployment's issuer and audience.
#[test]
fn the_defaults_are_safe_to_take_money_with() {
    let template = template();
    let variables = &template["Globals"]["Function"]["Environment"]["Variables"];
    let parameters = &template["Parameters"];
    assert!(is_ref(
        &variables["ENABLE_TEST_GATEWAY"],
        "EnableTestGateway"
    ));
    assert_eq!(parameters["EnableTestGateway"]["Default"], "false");
    assert!(is_ref(&variables["DEFAULT_GATEWAY"], "DefaultGateway"));
    assert_eq!(parameters["DefaultGateway"]["Default"], "stripe");
    assert_eq!(
        payment_shared::config::parse_default_gateway(Some("stripe")).expect("read"),
        payment_shared::config::DEFAULT_GATEWAY,
        "the template's default is the service's own"
    );
    assert!(
        variables.get("SHOP_GATEWAY").is_none(),
        "one default gateway"
    );
    assert!(parameters.get("ShopGateway").is_none());
    for (variable, parameter) in [("JWT_ISSUER", "JwtIssuer"), ("JWT_AUDIENCE", "JwtAudience")] {
        assert!(is_ref(&variables[variable], parameter), "{variable}");
        assert!(
            parameters[parameter].get("Default").is_none(),
            "{parameter}"
        );
        assert_eq!(parameters[parameter]["MinLength"], 1, "{parameter}");
    }
    assert!(
        variables.get("APP_ENV").is_none(),
        "a deployment is never local"
    );
}

#[test]
fn operators_set_how_long_an_open_intent_waits() {
    let template = template();
    let variables = &template["Globals"]["Function"]["Environment"]["Variables"];
    assert!(
        is_ref(&variables["INTENT_TTL"], "IntentTtl"),
        "{variables:?}"
    );
    let default = template["Parameters"]["IntentTtl"]["Default"]
        .as_str()
        .expect("a default");
    assert_eq!(
        payment_shared::config::parse_duration(default).expect("the service reads it"),
        payment_shared::config::DEFAULT_INTENT_TTL
    );
}

/// `sam build` copies each function's bootstrap out of the one cargo-lambda
/// build of every binary: the Makefile's `build-<LogicalId>` finds the binary
/// by turning the logical id into kebab case.
#[test]
fn sam_builds_each_function_from_the_binary_its_logical_id_names() {
    let template = template();
    let mut functions = 0;
    for (id, resource) in template["Resources"].as_mapping().expect("resources") {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        functions += 1;
        let id = id.as_str().expect("logical id");
        let stem = id
            .strip_suffix("Function")
            .expect("logical ids end in Function");
        let mut kebab = String::new();
        let mut previous: Option<char> = None;
        for c in stem.chars() {
            if c.is_ascii_uppercase()
                && previous.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit())
            {
                kebab.push('-');
            }
            kebab.push(c.to_ascii_lowercase());
            previous = Some(c);
        }
        assert_eq!(
            resource["Metadata"]["BuildProperties"]["Binary"].as_str(),
            Some(kebab.as_str()),
            "{id}"
        );
        assert_eq!(
            resource["Metadata"]["BuildMethod"].as_str(),
            Some("makefile"),
            "{id}"
        );
    }
    assert_eq!(functions, routes::FUNCTIONS.len());
}

/// New event items reach the dispatcher through the table's stream, as
/// their keys only (no image of an item leaves the table), in batches that
/// are split on error, report their failed records alone, and
/// leave what still fails in a dead-letter queue; the retry pass runs on a
/// schedule.
#[test]
fn the_webhook_dispatcher_reads_the_stream_and_parks_what_fails() {
    let template = template();
    let resources = &template["Resources"];
    assert_eq!(
        resources["Table"]["Properties"]["StreamSpecification"]["StreamViewType"],
        "KEYS_ONLY"
    );
    let events = &resources["WebhookDispatchFunction"]["Properties"]["Events"];
    let stream = &events["Stream"];
    assert_eq!(stream["Type"], "DynamoDB");
    let p = &stream["Properties"];
    assert_eq!(p["StartingPosition"], "LATEST");
    assert_eq!(p["BisectBatchOnFunctionError"], true);
    assert!(p["BatchSize"].as_u64().is_some_and(|n| n >= 1));
    assert!(p["MaximumRetryAttempts"].as_u64().is_some());
    assert_eq!(p["FunctionResponseTypes"][0], "ReportBatchItemFailures");
    assert_eq!(p["DestinationConfig"]["OnFailure"]["Type"], "SQS");
    assert_eq!(
        resources["WebhookDispatchDeadLetters"]["Type"],
        "AWS::SQS::Queue"
    );
    let pattern: serde_json::Value = serde_json::from_str(
        p["FilterCriteria"]["Filters"][0]["Pattern"]
            .as_str()
            .expect("a pattern"),
    )
    .expect("JSON");
    assert_eq!(pattern["eventName"][0], "INSERT");
    assert_eq!(
        pattern["dynamodb"]["Keys"]["pk"]["S"][0]["prefix"],
        "EVENT#"
    );
    let schedule = &resources["WebhookRetryFunction"]["Properties"]["Events"]["Schedule"];
    assert_eq!(schedule["Type"], "Schedule");
    assert!(
        schedule["Properties"]["Schedule"]
            .as_str()
            .is_some_and(|s| s.starts_with("rate("))
    );
}

/// Refunds a gateway fault left unsent are finished by a pass of their own,
/// on a schedule, with time for its gateway calls and their outcome.
#[test]
fn the_refund_pass_runs_on_a_schedule() {
    let template = template();
    let pass = &template["Resources"]["RefundsFinishUnsentFunction"]["Properties"];
    let schedule = &pass["Events"]["Schedule"];
    assert_eq!(schedule["Type"], "Schedule");
    assert_eq!(schedule["Properties"]["Schedule"], "rate(5 minutes)");
    let timeout = pass["Timeout"].as_u64().expect("its own Timeout");
    assert!(
        std::time::Duration::from_secs(timeout)
            >= payment_shared::adapters::stripe::ATTEMPT_TIMEOUT * 3
                + payment_shared::ports::deadline::STORING_MARGIN
    );
}
