//! Each item reads back as what it stored.

use super::*;
use crate::adapters::dynamo::keys::{all_intents_shard, event_shard};
use crate::domain::intent::{Confirmation, sample_intent};
use crate::domain::intent::{GatewayId, NextAction};
use crate::domain::{
    BusinessId, Event, NewPayable, Payable, PayableParts, PayableStatus, Payer, PaymentIntent,
};
use time::OffsetDateTime;

fn intent() -> PaymentIntent {
    sample_intent(
        GatewayId::Test,
        OffsetDateTime::from_unix_timestamp(1_760_000_000).expect("valid"),
    )
}

#[test]
fn an_intents_next_action_is_stored_and_read_back() {
    let mut i = intent();
    let action = Confirmation::RequiresAction {
        next_action: NextAction {
            kind: "redirect_to_url".to_owned(),
            url: Some("https://gateway.test/authenticate/pi_test_1".to_owned()),
        },
    };
    i.apply_confirmation(&action, i.created_at())
        .expect("action");
    let read = intent_from_item(intent_to_item(&i, 0).expect("item")).expect("read");
    assert_eq!(read, i);
}

#[test]
fn every_intent_item_joins_the_all_intents_index_in_its_shard() {
    let i = intent();
    let item = intent_to_item(&i, 1).expect("item");
    let shard = all_intents_shard(&i.id());
    assert_eq!(
        item.get("gsi3pk").and_then(|v| v.as_s().ok()),
        Some(&format!("INTENTS#{shard}"))
    );
    assert_eq!(
        item.get("gsi3sk"),
        item.get("gsi1sk"),
        "one order for every list"
    );
    let mut before_the_index = item;
    before_the_index.remove("gsi3pk");
    before_the_index.remove("gsi3sk");
    assert_eq!(intent_from_item(before_the_index).expect("read"), {
        let mut read = i.clone();
        read.stored_as(1);
        read
    });
}

#[test]
fn a_gateway_named_intent_has_a_lookup_item() {
    let i = intent();
    assert!(gateway_intent_to_item(&i).expect("item").is_none());
    let version = i.version();
    let i = PaymentIntent::restore(
        crate::domain::intent::IntentParts {
            gateway_intent_id: Some("pi_test_abc".to_owned()),
            ..i.into_parts()
        },
        version,
    );
    let item = gateway_intent_to_item(&i).expect("item").expect("some");
    assert_eq!(
        item.get("pk")
            .and_then(|v| v.as_s().ok())
            .map(String::as_str),
        Some("GATEWAY_INTENT#test#pi_test_abc")
    );
    assert_eq!(gateway_intent_from_item(item).expect("read"), i.id());
}

#[test]
fn items_stored_before_intents_kept_an_action_still_read() {
    let i = intent();
    let mut item = intent_to_item(&i, 0).expect("item");
    assert!(!item.contains_key("next_action_type"), "absent when none");
    item.remove("next_action_url");
    assert_eq!(intent_from_item(item).expect("read").next_action(), &None);
}

#[test]
fn an_event_carries_its_objects_item_and_reads_back() {
    let mut i = intent();
    i.stored_as(3);
    let events = Event::for_intent_change(None, &i, i.created_at());
    let item = event_to_item(&events[0], 0).expect("item");
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    assert_eq!(text("pk"), Some(format!("EVENT#{}", events[0].id)));
    assert_eq!(text("type").as_deref(), Some("payment_intent.created"));
    assert_eq!(text("object_id"), Some(i.id().to_string()));
    assert_eq!(text("gsi1pk"), Some(format!("EVENTS_OF#{}", i.id())));
    let shard = event_shard(&events[0].id);
    assert_eq!(
        text("gsi2pk"),
        Some(format!("EVENTS_TYPED#payment_intent.created#{shard}"))
    );
    assert_eq!(text("gsi3pk"), Some(format!("EVENTS#{shard}")));
    assert!(text("gsi3sk").is_some_and(|k| k.starts_with("EVENT#")));
    assert_eq!(text("gsi1sk"), text("gsi3sk"), "one order for every list");
    assert_eq!(
        item.get("ttl").and_then(|v| v.as_n().ok()),
        Some(
            &(i.created_at() + crate::domain::EVENT_RETENTION)
                .unix_timestamp()
                .to_string()
        )
    );
    let object = item
        .get("object")
        .and_then(|v| v.as_m().ok())
        .expect("a map");
    assert_eq!(
        object
            .get("version")
            .and_then(|v| v.as_n().ok())
            .map(String::as_str),
        Some("3")
    );
    assert_eq!(event_from_item(item).expect("reads"), events[0]);
}

#[test]
fn a_payable_item_reads_back_as_the_payable() {
    let t = OffsetDateTime::from_unix_timestamp(1_760_000_000).expect("valid");
    let p = Payable::restore(PayableParts {
        details: NewPayable {
            payable: PayableRef {
                kind: PayableKind::Order,
                id: PayableId::parse("O-1").expect("id"),
            },
            owner: Payer {
                user_id: UserId::parse("u1").expect("valid"),
                email: Email::parse("u1@example.com").expect("valid"),
            },
            amount: Money::from_minor(500, Currency::parse("USD").expect("usd")).expect("valid"),
            number: Some("7".into()),
            description: None,
            line_items: vec![],
            business_id: Some(BusinessId::new(9)),
        },
        status: PayableStatus::Paid,
        open_intent_id: None,
        allocated_minor: 500,
        paid_minor: 500,
        refunded_minor: 0,
        pending_payments: 0,
        owner_fixed: true,
        created_at: t,
        updated_at: t,
    });
    assert_eq!(
        payable_from_item(payable_to_item(&p).expect("item")).expect("read"),
        p
    );
}

#[test]
fn business_ids_are_numbers_and_old_digit_strings_still_read() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let base = intent();
    let i = PaymentIntent::restore(
        crate::domain::intent::IntentParts {
            business_id: Some(BusinessId::new(u64::MAX)),
            ..base.clone().into_parts()
        },
        base.version(),
    );
    let mut item = intent_to_item(&i, 1).expect("item");
    assert_eq!(
        item.get("business_id"),
        Some(&AttributeValue::N(u64::MAX.to_string()))
    );
    assert_eq!(
        intent_from_item(item.clone()).expect("read").business_id(),
        i.business_id()
    );
    item.insert("business_id".into(), AttributeValue::S("123456".into()));
    assert_eq!(
        intent_from_item(item.clone()).expect("read").business_id(),
        Some(BusinessId::new(123_456))
    );
    item.insert("business_id".into(), AttributeValue::S("biz-1".into()));
    assert!(intent_from_item(item).is_err(), "not a business id");
}

#[test]
fn an_amount_and_a_payable_are_attributes_of_the_item_itself() {
    use aws_sdk_dynamodb::types::AttributeValue::{L, M, N, S};
    let base = intent();
    let without_payable = intent_to_item(&base, 1).expect("item");
    assert!(
        !without_payable.contains_key("payable_kind"),
        "absent when none"
    );
    assert!(!without_payable.contains_key("payable_id"));
    let i = PaymentIntent::restore(
        crate::domain::intent::IntentParts {
            payable: Some(PayableRef {
                kind: PayableKind::Order,
                id: PayableId::parse("O-1").expect("id"),
            }),
            line_items: vec![LineItem {
                name: "Tea".into(),
                amount: base.amount(),
                quantity: 2,
                description: None,
            }],
            ..base.clone().into_parts()
        },
        base.version(),
    );
    let item = intent_to_item(&i, 1).expect("item");
    assert_eq!(item.get("amount_minor"), Some(&N("11200".into())));
    assert_eq!(item.get("currency"), Some(&S("USD".into())));
    assert_eq!(
        item.get("payable_kind"),
        Some(&S(PayableKind::Order.as_str().into()))
    );
    assert_eq!(item.get("payable_id"), Some(&S("O-1".into())));
    assert!(!item.contains_key("amount") && !item.contains_key("payable"));
    let Some(L(lines)) = item.get("line_items") else {
        panic!("a list of line items");
    };
    let Some(M(line)) = lines.first() else {
        panic!("a line item's map");
    };
    let mut names: Vec<&str> = line.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["amount_minor", "currency", "name", "quantity"]);
    assert_eq!(intent_from_item(item).expect("read"), {
        let mut read = i.clone();
        read.stored_as(1);
        read
    });
}
