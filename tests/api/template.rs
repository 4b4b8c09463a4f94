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
    assert!(functions.len() >= 19);
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
