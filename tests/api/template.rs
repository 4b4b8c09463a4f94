//! What the deployment template promises operators: a throttled, access-logged
//! API and logs that expire, for every function.

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

/// The functions AWS feeds (the table's stream, a schedule): they answer no
/// request, so there is no Idempotency-Key to honour.
fn background(binary: &str) -> bool {
    payment_shared::routes::BACKGROUND_BINARIES
        .iter()
        .any(|(b, _)| *b == binary)
}

#[test]
fn each_function_writes_only_the_partitions_it_needs() {
    let template = template();
    let mut writers = 0;
    for (_, resource) in template["Resources"].as_mapping().expect("resources") {
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_default();
        let Some(policies) = resource["Properties"]["Policies"].as_sequence() else {
            continue;
        };
        for statement in policies
            .iter()
            .filter_map(|p| p["Statement"].as_sequence())
            .flatten()
            .filter(|s| s["Sid"].as_str() == Some("TableWrite"))
        {
            writers += 1;
            let keys: Vec<&str> =
                statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
                    .as_sequence()
                    .unwrap_or_else(|| panic!("{binary}: writes are limited by partition"))
                    .iter()
                    .map(|k| k.as_str().expect("prefix"))
                    .collect();
            assert!(
                keys.iter().all(|k| PREFIXES.contains(k)),
                "{binary}: {keys:?}"
            );
            // The partner API reads; the one item it writes is a used signature.
            if binary == "partner-payment-detail" {
                assert_eq!(keys, ["REPLAY#*"], "{binary}");
                continue;
            }
            assert!(!keys.contains(&"REPLAY#*"), "{binary}");
            // Only the webhook endpoint functions write endpoints; only the
            // delivering ones write deliveries, and nothing else.
            assert_eq!(
                keys.contains(&"WEBHOOK_ENDPOINTS"),
                binary.starts_with("webhook-endpoints-"),
                "{binary}"
            );
            if background(binary) {
                assert_eq!(keys, ["WEBHOOK_LANE#*"], "{binary}");
                continue;
            }
            assert!(!keys.contains(&"WEBHOOK_LANE#*"), "{binary}");
            // Every write endpoint honours Idempotency-Key; only money paths write payments.
            assert!(keys.contains(&"IDEMPOTENCY#*"), "{binary}");
            let records_payments = [
                "intents-confirm",
                "payments-create",
                "refunds-create",
                "shop-mark-paid",
                "payment-intents-confirm",
                "payment-intents-webhook",
            ]
            .contains(&binary);
            assert_eq!(keys.contains(&"PAYMENT#*"), records_payments, "{binary}");
            // Every change of an intent, a payment or a refund writes its
            // events in the same transaction: whatever writes those writes events.
            assert_eq!(
                keys.contains(&"EVENT#*"),
                keys.contains(&"INTENT#*")
                    || keys.contains(&"PAYMENT#*")
                    || keys.contains(&"REFUND#*"),
                "{binary}"
            );
            // Only refunds are written by what makes them and what hears of them.
            let refunds = ["refunds-create", "payment-intents-webhook"].contains(&binary);
            assert_eq!(keys.contains(&"REFUND#*"), refunds, "{binary}");
            assert_eq!(keys.contains(&"GATEWAY_REFUND#*"), refunds, "{binary}");
            // Only what opens an intent at a gateway names it by the gateway's id.
            let opens_at_gateway =
                ["shop-create-intent", "payment-intents-create"].contains(&binary);
            assert_eq!(
                keys.contains(&"GATEWAY_INTENT#*"),
                opens_at_gateway,
                "{binary}"
            );
        }
    }
    assert_eq!(
        writers, 19,
        "every endpoint that changes something, the partner API's replay guard, the webhook deliverers, and only those"
    );
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
        // Making a refund changes its payment's refunded sum; it pays nothing.
        if writes.contains(&"PAYMENT#*") && binary != "refunds-create" {
            assert!(reads.contains(&"PAYABLE#*"), "{binary}: {reads:?}");
        }
    }
    assert!(limited >= 1, "the webhook's reads are limited");
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
    assert!(is_ref(&variables["SHOP_GATEWAY"], "ShopGateway"));
    assert_eq!(template["Parameters"]["ShopGateway"]["Default"], "test");
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
    assert_eq!(
        functions,
        payment_shared::routes::BINARIES.len() + payment_shared::routes::BACKGROUND_BINARIES.len()
    );
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
