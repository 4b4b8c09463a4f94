//! The storage contract: what every adapter of the storage ports must do, as
//! one async function per case taking the ports. The in-memory adapter runs
//! these in this crate's unit tests; the DynamoDB adapter runs the very same
//! functions against DynamoDB Local from the integration tests, through
//! [`storage_contract!`](crate::storage_contract). Both passing is what lets
//! use cases be tested on the in-memory adapter alone.
//!
//! Every case makes its own users and payables, so cases never see each other.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod events;
mod idempotency;
mod intents;
mod payables;
mod payments;
mod refunds;
mod replay;
mod webhooks;

pub use events::*;
pub use idempotency::*;
pub use intents::*;
pub use payables::*;
pub use payments::*;
pub use refunds::*;
pub use replay::*;
pub use webhooks::*;

use std::collections::BTreeMap;

use time::{Duration, OffsetDateTime};

use crate::domain::intent::NewIntent;
use crate::domain::{
    Currency, Email, FeeSchedule, GatewayId, IntentStatus, Money, NewPayable, OtpCode, OtpHash,
    OtpPolicy, Payable, PayableId, PayableKind, PayableRef, PayableStatus, Payer, Payment,
    PaymentIntent, PaymentMethod, PaymentStatus, UserId,
};
use crate::ports::{
    Expected, Idempotent, OpenOutcome, PageRequest, PayableWrite, RecordOutcome, StoreError,
    StoredResponse, Stores,
};

/// Declares one `#[tokio::test]` per contract case, each on fresh ports built
/// by `$stores` (an expression, awaited inside the test when it needs to be).
#[macro_export]
macro_rules! storage_contract {
    ($stores:expr) => {
        $crate::storage_contract!(@cases $stores;
            upsert_creates_then_replaces_keeping_the_services_fields,
            a_paid_payable_is_final,
            an_open_intent_keeps_its_payables_amount_payer_and_business,
            recorded_payments_bound_the_payables_total,
            a_payable_with_intents_or_payments_keeps_its_owner,
            five_intents_per_payable_may_send_codes_per_day,
            one_open_intent_per_payable,
            an_intent_claims_only_an_open_payable_priced_and_owned_as_read,
            a_standalone_intent_id_is_stored_once,
            saving_an_intent_is_conditional_on_status_and_version,
            a_succeeded_intent_creates_its_payment_and_pays_its_payable_at_once,
            an_ended_intent_frees_its_payable,
            finishing_an_intent_is_all_or_nothing,
            late_money_is_recorded_beside_an_ended_intent,
            otp_attempts_are_reserved_up_to_the_limit,
            intent_lists_are_newest_first_with_cursors,
            a_bad_or_foreign_cursor_is_refused,
            a_tampered_cursor_is_refused,
            an_intent_is_found_by_its_gateways_id,
            a_gateways_id_names_one_intent,
            the_all_intents_list_is_newest_first_across_users,
            the_all_intents_list_refuses_other_cursors,
            intents_named_from_keys_still_list_newest_first,
            payments_add_to_their_payables_sums,
            payments_never_exceed_the_total,
            concurrent_payments_stay_within_the_total,
            completing_a_payable_settles_its_pending_payments_all_or_nothing,
            pending_payments_stop_at_the_cap_and_settling_completes_them_all,
            a_payment_is_recorded_only_for_the_business_its_payable_has,
            payment_lists_are_newest_first,
            idempotency_claim_replay_mismatch_and_in_flight,
            idempotency_records_expire_and_stale_claims_are_taken_over,
            a_released_key_runs_again,
            a_claim_retried_by_its_own_run_is_its_own,
            a_run_whose_claim_was_taken_over_keeps_nothing_and_frees_nothing,
            the_payment_that_completes_the_total_pays_the_payable,
            a_payment_is_recorded_once_under_its_id,
            a_token_is_accepted_once_until_it_expires,
            concurrent_first_uses_of_a_token_let_one_through,
            every_change_of_an_intent_writes_its_events_with_it,
            ended_intents_and_late_money_write_their_events,
            a_save_that_enters_no_announced_status_writes_no_event,
            payments_and_settling_write_their_events,
            a_write_that_loses_writes_no_event,
            event_lists_are_newest_first_by_type_and_object_with_cursors,
            events_expire_thirty_days_after_they_happened,
            refunds_write_their_events_with_them,
            a_refund_takes_from_its_payment_and_payable_at_once,
            refunds_never_exceed_the_payment,
            concurrent_refunds_stay_within_the_payment,
            a_refund_is_made_once_under_its_id,
            a_failed_refund_gives_its_amount_back,
            updating_a_refund_is_conditional_on_its_status,
            a_refund_is_found_by_its_gateways_id,
            refund_lists_are_newest_first_with_cursors,
            a_pending_refund_holds_its_amount_and_only_its_success_refunds,
            unsent_refunds_are_listed_oldest_first_until_the_gateway_names_them,
        );
    };
    (@cases $stores:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let stores: $crate::ports::Stores = $stores;
                $crate::contract::$case(&stores).await;
            }
        )*
    };
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::now_v7().simple())
}

pub fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::parse("USD").expect("usd")).expect("money")
}

pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

pub fn payer(user: &UserId) -> Payer {
    Payer {
        user_id: user.clone(),
        email: Email::parse(&format!("{user}@example.com")).expect("email"),
    }
}

/// A new user id, unseen by every other case.
pub fn new_user() -> UserId {
    UserId::parse(&unique("u")).expect("user id")
}

/// An order of `minor` US cents owned by `owner`, not yet stored.
pub fn new_order(owner: &UserId, minor: i64) -> Payable {
    Payable::new(
        NewPayable {
            payable: PayableRef {
                kind: PayableKind::Order,
                id: PayableId::parse(&unique("o")).expect("payable id"),
            },
            owner: payer(owner),
            amount: usd(minor),
            number: Some("ORD-1".into()),
            description: Some("Two tickets".into()),
            line_items: vec![],
            business_id: None,
        },
        now(),
    )
}

/// `payable` as the operator's backend sends it again with `change` made to
/// its details; what the service keeps of it is as it was.
pub fn revised(payable: &Payable, change: impl FnOnce(&mut NewPayable)) -> Payable {
    let mut parts = payable.clone().into_parts();
    change(&mut parts.details);
    Payable::restore(parts)
}

/// A new intent collecting `payable` (or standalone), not yet stored.
pub fn new_intent(user: &UserId, payable: Option<&Payable>, gateway: GatewayId) -> PaymentIntent {
    PaymentIntent::open(
        NewIntent {
            payer: payer(user),
            payable: payable.map(|p| p.payable().clone()),
            amount: payable.map_or(usd(1500), |p| p.amount()),
            gateway,
            description: None,
            line_items: vec![],
            business_id: None,
            return_url: None,
            cancel_url: None,
            metadata: BTreeMap::new(),
        },
        now(),
    )
}

pub async fn stored_order(s: &Stores, owner: &UserId, minor: i64) -> Payable {
    match s
        .payables
        .upsert_payable(&new_order(owner, minor), now())
        .await
        .expect("upsert")
    {
        PayableWrite::Written { payable, .. } => *payable,
        other => panic!("order not stored: {other:?}"),
    }
}

pub async fn payable(s: &Stores, p: &Payable) -> Payable {
    s.payables
        .get_payable(p.payable())
        .await
        .expect("read")
        .expect("payable exists")
}

/// An intent stored and holding `p`.
pub async fn open_on(s: &Stores, p: &Payable) -> PaymentIntent {
    let mut intent = new_intent(&p.owner().user_id, Some(p), GatewayId::Test);
    let outcome = s.intents.open_intent(&mut intent).await.expect("open");
    assert!(matches!(outcome, OpenOutcome::Created), "{outcome:?}");
    intent
}

pub fn succeed(intent: &PaymentIntent) -> (PaymentIntent, Payment) {
    let mut done = intent.clone();
    let t = now();
    done.transition(IntentStatus::Processing, t)
        .expect("processing");
    done.transition(IntentStatus::Succeeded, t)
        .expect("succeeded");
    let payment = Payment::for_intent(
        &done,
        PaymentMethod::Card,
        "pi_test_1".into(),
        &FeeSchedule::standard(),
        t,
    );
    (done, payment)
}

pub fn record_of(p: &Payable, minor: i64, status: PaymentStatus) -> Payment {
    Payment::against(
        p,
        usd(minor),
        PaymentMethod::Cash,
        status,
        &FeeSchedule::standard(),
        now(),
    )
}
