//! `template.yaml`, the code's table definition and DynamoDB Local agree.

use std::collections::BTreeSet;

use integration_tests::aws;
use payment_shared::adapters::dynamo::table::{self, INDEXES, PK, SK, STREAM_VIEW, TTL_ATTRIBUTE};
use serde_yaml::Value;

fn template() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml"))
        .expect("template.yaml");
    serde_yaml::from_str(&text).expect("template parses")
}

fn code_attributes() -> BTreeSet<String> {
    let mut set: BTreeSet<String> = [PK, SK].map(str::to_owned).into();
    for index in INDEXES {
        set.insert(index.pk.to_owned());
        set.insert(index.sk.to_owned());
    }
    set
}

fn code_indexes() -> BTreeSet<(String, String, String)> {
    INDEXES
        .iter()
        .map(|i| (i.name.to_owned(), i.pk.to_owned(), i.sk.to_owned()))
        .collect()
}

fn key_pair(schema: &Value) -> (String, String) {
    let mut hash = String::new();
    let mut range = String::new();
    for k in schema.as_sequence().expect("key schema") {
        let name = k["AttributeName"].as_str().expect("name").to_owned();
        match k["KeyType"].as_str() {
            Some("HASH") => hash = name,
            Some("RANGE") => range = name,
            other => panic!("key type {other:?}"),
        }
    }
    (hash, range)
}

#[test]
fn template_declares_the_table_the_code_uses() {
    let t = template();
    let props = &t["Resources"]["Table"]["Properties"];
    let attrs: BTreeSet<String> = props["AttributeDefinitions"]
        .as_sequence()
        .expect("attributes")
        .iter()
        .map(|a| {
            assert_eq!(a["AttributeType"].as_str(), Some("S"));
            a["AttributeName"].as_str().expect("name").to_owned()
        })
        .collect();
    assert_eq!(attrs, code_attributes());
    assert_eq!(
        key_pair(&props["KeySchema"]),
        (PK.to_owned(), SK.to_owned())
    );
    let gsis: BTreeSet<_> = props["GlobalSecondaryIndexes"]
        .as_sequence()
        .expect("gsis")
        .iter()
        .map(|g| {
            assert_eq!(g["Projection"]["ProjectionType"].as_str(), Some("ALL"));
            let (h, r) = key_pair(&g["KeySchema"]);
            (g["IndexName"].as_str().expect("name").to_owned(), h, r)
        })
        .collect();
    assert_eq!(gsis, code_indexes());
    assert_eq!(
        props["TimeToLiveSpecification"]["AttributeName"].as_str(),
        Some(TTL_ATTRIBUTE)
    );
    assert_eq!(
        props["TimeToLiveSpecification"]["Enabled"].as_bool(),
        Some(true)
    );
    assert_eq!(
        props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(),
        Some(true)
    );
    assert_eq!(
        props["StreamSpecification"]["StreamViewType"].as_str(),
        Some(STREAM_VIEW.as_str())
    );
}

#[tokio::test]
async fn the_local_table_matches_the_code() {
    let client = aws_sdk_dynamodb::Client::new(&aws().await);
    let name = integration_tests::unique("shape");
    table::create_table(&client, &name).await.expect("create");
    let described = client
        .describe_table()
        .table_name(&name)
        .send()
        .await
        .expect("describe");
    let t = described.table().expect("table");
    let attrs: BTreeSet<String> = t
        .attribute_definitions()
        .iter()
        .map(|a| a.attribute_name().to_owned())
        .collect();
    assert_eq!(attrs, code_attributes());
    let gsis: BTreeSet<_> = t
        .global_secondary_indexes()
        .iter()
        .map(|g| {
            let mut h = String::new();
            let mut r = String::new();
            for k in g.key_schema() {
                match k.key_type().as_str() {
                    "HASH" => h = k.attribute_name().to_owned(),
                    _ => r = k.attribute_name().to_owned(),
                }
            }
            (g.index_name().expect("name").to_owned(), h, r)
        })
        .collect();
    assert_eq!(gsis, code_indexes());
    let stream = t.stream_specification().expect("a stream");
    assert!(stream.stream_enabled());
    assert_eq!(stream.stream_view_type(), Some(&STREAM_VIEW));
    let ttl = client
        .describe_time_to_live()
        .table_name(&name)
        .send()
        .await
        .expect("ttl");
    assert_eq!(
        ttl.time_to_live_description()
            .and_then(|d| d.attribute_name()),
        Some(TTL_ATTRIBUTE)
    );
}
