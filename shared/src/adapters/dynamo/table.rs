//! The table's shape, in the one place that `template.yaml`, the local setup and
//! the tests are checked against.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};

pub const PK: &str = "pk";
pub const SK: &str = "sk";
/// Epoch seconds after which DynamoDB may delete the item (it does so late: reads check too).
pub const TTL_ATTRIBUTE: &str = "ttl";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Index {
    pub name: &'static str,
    pub pk: &'static str,
    pub sk: &'static str,
}

/// By user (payer/customer), newest first; and the events of one object
/// (partitions `EVENTS_OF#…`, see `keys`).
pub const BY_USER: Index = Index {
    name: "gsi1",
    pk: "gsi1pk",
    sk: "gsi1sk",
};
/// By payable (registration, order, invoice), newest first; a payment's
/// refunds, in partitions of their own (`keys::refunds_of_partition`); and the
/// events of one type (partitions `EVENTS_TYPED#…`, sharded).
pub const BY_PAYABLE: Index = Index {
    name: "gsi2",
    pk: "gsi2pk",
    sk: "gsi2sk",
};
/// Every intent, newest first, its partition sharded (see `keys::all_intents_partition`);
/// and every event, sharded alike (partitions `EVENTS#…`).
pub const ALL_INTENTS: Index = Index {
    name: "gsi3",
    pk: "gsi3pk",
    sk: "gsi3sk",
};
pub const INDEXES: [Index; 3] = [BY_USER, BY_PAYABLE, ALL_INTENTS];

/// What the table's stream carries of a changed item: its keys only. The
/// deliveries' dispatch needs no more (an event's keys name it, and it reads
/// the event by them), and so no intent, payment, webhook secret, OTP hash
/// or email leaves the table through the stream and whatever reads it.
pub const STREAM_VIEW: StreamViewType = StreamViewType::KeysOnly;

fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    #[allow(clippy::expect_used)] // both required fields are set
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .expect("key schema element")
}

/// Creates the table exactly as `template.yaml` declares it (on-demand, its
/// GSIs, its stream, TTL).
pub async fn create_table(client: &Client, name: &str) -> Result<(), aws_sdk_dynamodb::Error> {
    let mut attributes = vec![PK, SK];
    for index in INDEXES {
        attributes.extend([index.pk, index.sk]);
    }
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(PK, KeyType::Hash))
        .key_schema(key(SK, KeyType::Range))
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(STREAM_VIEW)
                .build()
                .map_err(aws_sdk_dynamodb::Error::from)?,
        );
    for attribute in attributes {
        #[allow(clippy::expect_used)] // both required fields are set
        let definition = AttributeDefinition::builder()
            .attribute_name(attribute)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("attribute definition");
        request = request.attribute_definitions(definition);
    }
    for index in INDEXES {
        #[allow(clippy::expect_used)] // all required fields are set
        let gsi = GlobalSecondaryIndex::builder()
            .index_name(index.name)
            .key_schema(key(index.pk, KeyType::Hash))
            .key_schema(key(index.sk, KeyType::Range))
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .expect("global secondary index");
        request = request.global_secondary_indexes(gsi);
    }
    request.send().await?;
    #[allow(clippy::expect_used)] // both required fields are set
    let ttl = TimeToLiveSpecification::builder()
        .attribute_name(TTL_ATTRIBUTE)
        .enabled(true)
        .build()
        .expect("ttl specification");
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(ttl)
        .send()
        .await?;
    Ok(())
}
