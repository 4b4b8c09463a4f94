//! The storage contract: what every adapter of the storage ports must do, as
//! one async function per case taking the ports. The in-memory adapter runs
//! these in this crate's unit tests; the DynamoDB adapter runs the very same
//! functions against DynamoDB Local from the integration tests, through
//! [`storage_contract!`](crate::storage_contract). Both passing is what lets
//! use cases be tested on the in-memory adapter alone.
//!
//! Every case makes its own users and payables, so cases never see each other.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;

use time::{Duration, OffsetDateTime};

use crate::domain::intent::NewIntent;
use crate::domain::{
    Currency, Email, GatewayId, IntentStatus, Money, OtpCode, OtpHash, OtpPolicy, Payable,
    PayableId, PayableKind, PayableRef, PayableStatus, Payer, Payment, PaymentIntent,
    PaymentMethod, PaymentStatus, UserId,
};
use crate::ports::{
    Expected, Idempotent, OpenOutcome, PayableWrite, RecordOutcome, StoreError, StoredResponse,
    Stores,
};

/// Declares one `#[tokio::test]` per contract case, each on fresh ports built
/// by `$stores` (an expression, awaited inside the test when it needs to be).
#[macro_export]
macro_rules! storage_contract {
    ($stores:expr) => {
        $crate::storage_contract!(@cases $stores;
            upsert_creates_then_replaces_keeping_the_services_fields,
            a_paid_payable_is_final,
            an_open_intent_keeps_its_payables_amount_and_payer,
            recorded_payments_bound_the_payables_total,
            one_open_intent_per_payable,
            an_intent_claims_only_an_open_payable_priced_and_owned_as_read,
            a_standalone_intent_id_is_stored_once,
            saving_an_intent_is_conditional_on_status_and_version,
            a_succeeded_intent_creates_its_payment_and_pays_its_payable_at_once,
            an_ended_intent_frees_its_payable,
            finishing_an_intent_is_all_or_nothing,
            wrong_codes_are_counted_up_to_the_limit,
            intent_lists_are_newest_first_with_cursors,
            a_bad_or_foreign_cursor_is_refused,
            payments_add_to_their_payables_sums,
            payments_never_exceed_the_total,
            concurrent_payments_stay_within_the_total,
            completing_a_payable_settles_its_pending_payments_all_or_nothing,
            payment_lists_are_newest_first,
            idempotency_claim_replay_mismatch_and_in_flight,
            idempotency_records_expire_and_stale_claims_are_taken_over,
            a_released_key_runs_again,
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

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::now_v7().simple())
}

fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::parse("USD").expect("usd")).expect("money")
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn payer(user: &UserId) -> Payer {
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
    let t = now();
    Payable {
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
        status: PayableStatus::Open,
        open_intent_id: None,
        allocated_minor: 0,
        paid_minor: 0,
        created_at: t,
        updated_at: t,
    }
}

/// A new intent collecting `payable` (or standalone), not yet stored.
pub fn new_intent(user: &UserId, payable: Option<&Payable>, gateway: GatewayId) -> PaymentIntent {
    PaymentIntent::open(
        NewIntent {
            payer: payer(user),
            payable: payable.map(|p| p.payable.clone()),
            amount: payable.map_or(usd(1500), |p| p.amount),
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

async fn stored_order(s: &Stores, owner: &UserId, minor: i64) -> Payable {
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

async fn payable(s: &Stores, p: &Payable) -> Payable {
    s.payables
        .get_payable(&p.payable)
        .await
        .expect("read")
        .expect("payable exists")
}

/// An intent stored and holding `p`.
async fn open_on(s: &Stores, p: &Payable) -> PaymentIntent {
    let mut intent = new_intent(&p.owner.user_id, Some(p), GatewayId::Test);
    let outcome = s.intents.open_intent(&intent).await.expect("open");
    assert!(matches!(outcome, OpenOutcome::Created), "{outcome:?}");
    intent.version = 1;
    intent
}

fn succeed(intent: &PaymentIntent) -> (PaymentIntent, Payment) {
    let mut done = intent.clone();
    let t = now();
    done.transition(IntentStatus::Processing, t)
        .expect("processing");
    done.transition(IntentStatus::Succeeded, t)
        .expect("succeeded");
    let payment = Payment::for_intent(&done, PaymentMethod::Card, "pi_test_1".into(), t);
    (done, payment)
}

fn record_of(p: &Payable, minor: i64, status: PaymentStatus) -> Payment {
    Payment::against(p, usd(minor), PaymentMethod::Cash, status, now())
}

pub async fn upsert_creates_then_replaces_keeping_the_services_fields(s: &Stores) {
    let owner = new_user();
    let order = new_order(&owner, 10_000);
    let first = s
        .payables
        .upsert_payable(&order, now())
        .await
        .expect("create");
    let PayableWrite::Written {
        payable: created,
        created: true,
    } = first
    else {
        panic!("first upsert creates: {first:?}");
    };
    assert_eq!(created.status, PayableStatus::Open);
    assert_eq!(created.amount, usd(10_000));
    assert_eq!(created.description.as_deref(), Some("Two tickets"));

    let mut next = order.clone();
    next.amount = usd(12_000);
    next.description = None;
    // The service's own fields are not the caller's to set.
    next.status = PayableStatus::Paid;
    next.paid_minor = 12_000;
    let second = s
        .payables
        .upsert_payable(&next, now())
        .await
        .expect("replace");
    let PayableWrite::Written {
        payable: replaced,
        created: false,
    } = second
    else {
        panic!("second upsert replaces: {second:?}");
    };
    assert_eq!(replaced.amount, usd(12_000));
    assert_eq!(
        replaced.description, None,
        "absent optional fields are removed"
    );
    assert_eq!(replaced.status, PayableStatus::Open);
    assert_eq!(replaced.paid_minor, 0);
    assert_eq!(replaced.created_at, created.created_at);
    assert_eq!(payable(s, &order).await, *replaced);
    assert!(
        s.payables
            .get_payable(&new_order(&owner, 1).payable)
            .await
            .expect("read")
            .is_none()
    );
}

pub async fn a_paid_payable_is_final(s: &Stores) {
    let order = stored_order(s, &new_user(), 5_000).await;
    let intent = open_on(s, &order).await;
    let (done, payment) = succeed(&intent);
    s.intents
        .finish_intent(&done, Expected::of(&intent), Some(&payment))
        .await
        .expect("paid");
    let mut next = order.clone();
    next.description = Some("changed".into());
    let write = s
        .payables
        .upsert_payable(&next, now())
        .await
        .expect("upsert");
    assert!(matches!(write, PayableWrite::AlreadyPaid), "{write:?}");
    assert_eq!(payable(s, &order).await.description, order.description);
}

pub async fn an_open_intent_keeps_its_payables_amount_and_payer(s: &Stores) {
    let order = stored_order(s, &new_user(), 5_000).await;
    let intent = open_on(s, &order).await;

    let mut repriced = order.clone();
    repriced.amount = usd(6_000);
    let write = s
        .payables
        .upsert_payable(&repriced, now())
        .await
        .expect("upsert");
    assert!(
        matches!(write, PayableWrite::OpenIntentAmountChange(id) if id == intent.id),
        "{write:?}"
    );
    let mut new_owner = order.clone();
    new_owner.owner = payer(&new_user());
    let write = s
        .payables
        .upsert_payable(&new_owner, now())
        .await
        .expect("upsert");
    assert!(
        matches!(write, PayableWrite::OpenIntentAmountChange(_)),
        "{write:?}"
    );

    // Details that do not change what is collected may.
    let mut described = order.clone();
    described.description = Some("Three tickets".into());
    let write = s
        .payables
        .upsert_payable(&described, now())
        .await
        .expect("upsert");
    let PayableWrite::Written { payable: p, .. } = write else {
        panic!("description may change: {write:?}");
    };
    assert_eq!(
        p.open_intent_id,
        Some(intent.id),
        "the intent still holds it"
    );
}

pub async fn recorded_payments_bound_the_payables_total(s: &Stores) {
    let order = stored_order(s, &new_user(), 10_000).await;
    let outcome = s
        .payments
        .record_payment(&record_of(&order, 4_000, PaymentStatus::Pending), &order)
        .await
        .expect("record");
    assert_eq!(outcome, RecordOutcome::Recorded);

    let mut lower = order.clone();
    lower.amount = usd(3_999);
    let write = s
        .payables
        .upsert_payable(&lower, now())
        .await
        .expect("upsert");
    assert!(
        matches!(write, PayableWrite::PaymentsRecorded(4_000)),
        "{write:?}"
    );

    let mut euros = order.clone();
    euros.amount = Money::from_minor(10_000, Currency::parse("EUR").expect("eur")).expect("eur");
    let write = s
        .payables
        .upsert_payable(&euros, now())
        .await
        .expect("upsert");
    assert!(
        matches!(write, PayableWrite::PaymentsRecorded(4_000)),
        "{write:?}"
    );

    let mut exact = order.clone();
    exact.amount = usd(4_000);
    let write = s
        .payables
        .upsert_payable(&exact, now())
        .await
        .expect("upsert");
    let PayableWrite::Written { payable: p, .. } = write else {
        panic!("down to what is recorded is allowed: {write:?}");
    };
    assert_eq!((p.amount, p.allocated_minor), (usd(4_000), 4_000));
}

pub async fn one_open_intent_per_payable(s: &Stores) {
    let order = stored_order(s, &new_user(), 5_000).await;
    let first = open_on(s, &order).await;
    let second = new_intent(&order.owner.user_id, Some(&order), GatewayId::Test);
    let outcome = s.intents.open_intent(&second).await.expect("open");
    assert!(
        matches!(outcome, OpenOutcome::PayableHasOpenIntent(id) if id == first.id),
        "{outcome:?}"
    );
    assert!(
        s.intents
            .get_intent(&second.id)
            .await
            .expect("read")
            .is_none()
    );
    let stored = s
        .intents
        .get_intent(&first.id)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(stored.version, 1);
    assert_eq!(payable(s, &order).await.open_intent_id, Some(first.id));
}

pub async fn an_intent_claims_only_an_open_payable_priced_and_owned_as_read(s: &Stores) {
    let owner = new_user();
    let missing = new_order(&owner, 5_000);
    let intent = new_intent(&owner, Some(&missing), GatewayId::Test);
    let outcome = s.intents.open_intent(&intent).await.expect("open");
    assert!(
        matches!(outcome, OpenOutcome::PayableChanged),
        "{outcome:?}"
    );

    let order = stored_order(s, &owner, 5_000).await;
    let stranger = new_intent(&new_user(), Some(&order), GatewayId::Test);
    let outcome = s.intents.open_intent(&stranger).await.expect("open");
    assert!(
        matches!(outcome, OpenOutcome::PayableChanged),
        "{outcome:?}"
    );

    let mut stale = order.clone();
    stale.amount = usd(4_000);
    let cheaper = new_intent(&owner, Some(&stale), GatewayId::Test);
    let outcome = s.intents.open_intent(&cheaper).await.expect("open");
    assert!(
        matches!(outcome, OpenOutcome::PayableChanged),
        "{outcome:?}"
    );

    s.payments
        .record_payment(&record_of(&order, 100, PaymentStatus::Pending), &order)
        .await
        .expect("record");
    let after_payment = new_intent(&owner, Some(&order), GatewayId::Test);
    let outcome = s.intents.open_intent(&after_payment).await.expect("open");
    assert!(
        matches!(outcome, OpenOutcome::PayableChanged),
        "{outcome:?}"
    );

    for id in [intent.id, stranger.id, cheaper.id, after_payment.id] {
        assert!(s.intents.get_intent(&id).await.expect("read").is_none());
    }
    assert_eq!(payable(s, &order).await.open_intent_id, None);
}

pub async fn a_standalone_intent_id_is_stored_once(s: &Stores) {
    let intent = new_intent(&new_user(), None, GatewayId::Test);
    let outcome = s.intents.open_intent(&intent).await.expect("open");
    assert!(matches!(outcome, OpenOutcome::Created), "{outcome:?}");
    let again = s.intents.open_intent(&intent).await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
    let stored = s
        .intents
        .get_intent(&intent.id)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(stored.version, 1);
    assert_eq!(stored.amount, intent.amount);
    assert_eq!(stored.client_secret, intent.client_secret);
}

pub async fn saving_an_intent_is_conditional_on_status_and_version(s: &Stores) {
    let user = new_user();
    let mut intent = new_intent(&user, None, GatewayId::Otp);
    s.intents.open_intent(&intent).await.expect("open");
    intent.version = 1;
    let before = Expected::of(&intent);
    let code = OtpCode::parse("123456").expect("code");
    let hash = OtpHash::compute(b"pepper", &intent.id, &code);
    intent
        .issue_otp(hash, now(), &OtpPolicy::STANDARD)
        .expect("issue");
    s.intents.save_intent(&intent, before).await.expect("save");
    let stored = s
        .intents
        .get_intent(&intent.id)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(stored.version, 2);
    assert_eq!(stored.status, IntentStatus::RequiresAction);
    assert_eq!(stored.otp_sends, 1);
    assert!(
        stored
            .otp
            .as_ref()
            .is_some_and(|o| o.hash.matches(b"pepper", &intent.id, &code))
    );

    // A writer that read the old version loses, whatever it changes.
    let stale = s.intents.save_intent(&intent, before).await;
    assert!(matches!(stale, Err(StoreError::Conflict)), "{stale:?}");
    let wrong_status = Expected {
        status: IntentStatus::RequiresConfirmation,
        version: 2,
    };
    let lost = s.intents.save_intent(&intent, wrong_status).await;
    assert!(matches!(lost, Err(StoreError::Conflict)), "{lost:?}");
    let missing = new_intent(&user, None, GatewayId::Otp);
    let lost = s
        .intents
        .save_intent(&missing, Expected::of(&missing))
        .await;
    assert!(matches!(lost, Err(StoreError::Conflict)), "{lost:?}");
}

pub async fn a_succeeded_intent_creates_its_payment_and_pays_its_payable_at_once(s: &Stores) {
    let order = stored_order(s, &new_user(), 7_500).await;
    let intent = open_on(s, &order).await;
    let (done, payment) = succeed(&intent);
    s.intents
        .finish_intent(&done, Expected::of(&intent), Some(&payment))
        .await
        .expect("finish");
    let stored = s
        .intents
        .get_intent(&intent.id)
        .await
        .expect("read")
        .expect("intent");
    assert_eq!(
        (stored.status, stored.version),
        (IntentStatus::Succeeded, 2)
    );
    let p = payable(s, &order).await;
    assert_eq!(p.status, PayableStatus::Paid);
    assert_eq!((p.allocated_minor, p.paid_minor), (7_500, 7_500));
    assert_eq!(p.open_intent_id, None);
    let recorded = s.payments.get_payment(&payment.id).await.expect("read");
    assert_eq!(recorded, Some(payment.clone()));
    // Exactly once: the same success again loses.
    let again = s
        .intents
        .finish_intent(&done, Expected::of(&intent), Some(&payment))
        .await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
}

pub async fn an_ended_intent_frees_its_payable(s: &Stores) {
    let order = stored_order(s, &new_user(), 5_000).await;
    let intent = open_on(s, &order).await;
    let mut canceled = intent.clone();
    canceled
        .cancel("requested_by_customer", now())
        .expect("cancel");
    s.intents
        .finish_intent(&canceled, Expected::of(&intent), None)
        .await
        .expect("finish");
    let p = payable(s, &order).await;
    assert_eq!((p.status, p.open_intent_id), (PayableStatus::Open, None));
    assert_eq!(p.paid_minor, 0);
    let next = open_on(s, &order).await;
    assert_eq!(payable(s, &order).await.open_intent_id, Some(next.id));
}

pub async fn finishing_an_intent_is_all_or_nothing(s: &Stores) {
    let owner = new_user();
    let order = stored_order(s, &owner, 5_000).await;
    let intent = open_on(s, &order).await;
    // A payment id already taken makes the whole write lose.
    let other = stored_order(s, &owner, 100).await;
    let taken = record_of(&other, 100, PaymentStatus::Failed);
    s.payments
        .record_payment(&taken, &other)
        .await
        .expect("record");
    let (done, mut payment) = succeed(&intent);
    payment.id = taken.id;
    let lost = s
        .intents
        .finish_intent(&done, Expected::of(&intent), Some(&payment))
        .await;
    assert!(matches!(lost, Err(StoreError::Conflict)), "{lost:?}");
    let stored = s
        .intents
        .get_intent(&intent.id)
        .await
        .expect("read")
        .expect("intent");
    assert_eq!((stored.status, stored.version), (intent.status, 1));
    let p = payable(s, &order).await;
    assert_eq!(
        (p.status, p.open_intent_id),
        (PayableStatus::Open, Some(intent.id))
    );

    // An intent that does not hold its payable cannot free or pay it.
    let mut stranger = new_intent(&owner, None, GatewayId::Test);
    s.intents.open_intent(&stranger).await.expect("open");
    stranger.version = 1;
    let mut ended = stranger.clone();
    ended.payable = Some(order.payable.clone());
    ended
        .cancel("requested_by_customer", now())
        .expect("cancel");
    let lost = s
        .intents
        .finish_intent(&ended, Expected::of(&stranger), None)
        .await;
    assert!(matches!(lost, Err(StoreError::Conflict)), "{lost:?}");
    assert_eq!(payable(s, &order).await.open_intent_id, Some(intent.id));
}

pub async fn wrong_codes_are_counted_up_to_the_limit(s: &Stores) {
    let mut intent = new_intent(&new_user(), None, GatewayId::Otp);
    s.intents.open_intent(&intent).await.expect("open");
    intent.version = 1;
    assert_eq!(
        s.intents
            .count_wrong_otp(&intent.id, 4, now())
            .await
            .expect("count"),
        None,
        "no code is awaited yet"
    );
    let before = Expected::of(&intent);
    let code = OtpCode::parse("123456").expect("code");
    let hash = OtpHash::compute(b"pepper", &intent.id, &code);
    intent
        .issue_otp(hash, now(), &OtpPolicy::STANDARD)
        .expect("issue");
    s.intents.save_intent(&intent, before).await.expect("save");
    for expected in 1..=4 {
        let count = s
            .intents
            .count_wrong_otp(&intent.id, 4, now())
            .await
            .expect("count");
        assert_eq!(count, Some(expected));
    }
    assert_eq!(
        s.intents
            .count_wrong_otp(&intent.id, 4, now())
            .await
            .expect("count"),
        None
    );
    let stored = s
        .intents
        .get_intent(&intent.id)
        .await
        .expect("read")
        .expect("intent");
    assert_eq!(
        (stored.otp_attempts, stored.version),
        (4, 6),
        "each count is a change"
    );
    let missing = new_intent(&new_user(), None, GatewayId::Otp);
    assert_eq!(
        s.intents
            .count_wrong_otp(&missing.id, 4, now())
            .await
            .expect("count"),
        None
    );
}

pub async fn intent_lists_are_newest_first_with_cursors(s: &Stores) {
    let user = new_user();
    let order = stored_order(s, &user, 5_000).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let mut intent = new_intent(&user, None, GatewayId::Test);
        s.intents.open_intent(&intent).await.expect("open");
        if i % 2 == 0 {
            intent.version = 1;
            let before = Expected::of(&intent);
            intent
                .cancel("requested_by_customer", now())
                .expect("cancel");
            s.intents
                .finish_intent(&intent, before, None)
                .await
                .expect("cancel");
        }
        ids.push(intent.id);
    }
    let on_order = open_on(s, &order).await;
    ids.push(on_order.id);
    // Someone else's intents never show.
    s.intents
        .open_intent(&new_intent(&new_user(), None, GatewayId::Test))
        .await
        .expect("open");
    ids.sort_by_key(|id| std::cmp::Reverse(id.to_string()));

    let mut seen = Vec::new();
    let mut cursor = None;
    for _ in 0..10 {
        let page = s
            .intents
            .list_intents_by_user(&user, None, 2, cursor.as_deref())
            .await
            .expect("page");
        assert!(page.items.len() <= 2);
        seen.extend(page.items.iter().map(|i| i.id));
        cursor = page.next;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen, ids, "every intent once, newest first");

    let canceled = s
        .intents
        .list_intents_by_user(&user, Some(IntentStatus::Canceled), 10, None)
        .await
        .expect("filtered");
    assert_eq!(canceled.items.len(), 3);
    assert!(
        canceled
            .items
            .iter()
            .all(|i| i.status == IntentStatus::Canceled)
    );

    let by_order = s
        .intents
        .list_intents_by_payable(&order.payable, 10, None)
        .await
        .expect("by payable");
    assert_eq!(
        by_order.items.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![on_order.id]
    );
    assert!(by_order.next.is_none());
}

pub async fn a_bad_or_foreign_cursor_is_refused(s: &Stores) {
    let user = new_user();
    for _ in 0..3 {
        s.intents
            .open_intent(&new_intent(&user, None, GatewayId::Test))
            .await
            .expect("open");
    }
    let page = s
        .intents
        .list_intents_by_user(&user, None, 1, None)
        .await
        .expect("page");
    let cursor = page.next.expect("more to read");
    let other = s
        .intents
        .list_intents_by_user(&new_user(), None, 1, Some(&cursor))
        .await;
    assert!(matches!(other, Err(StoreError::BadCursor)), "{other:?}");
    let order = stored_order(s, &user, 100).await;
    let other = s
        .intents
        .list_intents_by_payable(&order.payable, 1, Some(&cursor))
        .await;
    assert!(matches!(other, Err(StoreError::BadCursor)), "{other:?}");
    for garbage in ["not a cursor!", "e30", ""] {
        let bad = s
            .intents
            .list_intents_by_user(&user, None, 1, Some(garbage))
            .await;
        assert!(
            matches!(bad, Err(StoreError::BadCursor)),
            "{garbage}: {bad:?}"
        );
    }
    let bad = s
        .payments
        .list_payments_by_payable(&order.payable, 1, Some("not a cursor!"))
        .await;
    assert!(matches!(bad, Err(StoreError::BadCursor)), "{bad:?}");
}

pub async fn payments_add_to_their_payables_sums(s: &Stores) {
    let order = stored_order(s, &new_user(), 10_000).await;
    let pending = record_of(&order, 3_000, PaymentStatus::Pending);
    let outcome = s
        .payments
        .record_payment(&pending, &order)
        .await
        .expect("record");
    assert_eq!(outcome, RecordOutcome::Recorded);
    let p = payable(s, &order).await;
    assert_eq!((p.allocated_minor, p.paid_minor), (3_000, 0));
    assert!(
        !s.payables
            .settle_if_covered(&order.payable, now())
            .await
            .expect("settle")
    );

    let failed = record_of(&p, 9_999, PaymentStatus::Failed);
    let outcome = s
        .payments
        .record_payment(&failed, &p)
        .await
        .expect("record");
    assert_eq!(
        outcome,
        RecordOutcome::Recorded,
        "a failed payment holds nothing"
    );
    let completed = record_of(&p, 7_000, PaymentStatus::Completed);
    let outcome = s
        .payments
        .record_payment(&completed, &p)
        .await
        .expect("record");
    assert_eq!(outcome, RecordOutcome::Recorded);
    let p = payable(s, &order).await;
    assert_eq!((p.allocated_minor, p.paid_minor), (10_000, 7_000));
    assert!(
        !s.payables
            .settle_if_covered(&order.payable, now())
            .await
            .expect("settle")
    );
    assert_eq!(payable(s, &order).await.status, PayableStatus::Open);

    let other = stored_order(s, &new_user(), 2_000).await;
    let full = record_of(&other, 2_000, PaymentStatus::Completed);
    s.payments
        .record_payment(&full, &other)
        .await
        .expect("record");
    assert!(
        s.payables
            .settle_if_covered(&other.payable, now())
            .await
            .expect("settle")
    );
    assert_eq!(payable(s, &other).await.status, PayableStatus::Paid);
    assert!(
        !s.payables
            .settle_if_covered(&other.payable, now())
            .await
            .expect("settle")
    );
    assert_eq!(
        s.payments.get_payment(&full.id).await.expect("read"),
        Some(full)
    );
}

pub async fn payments_never_exceed_the_total(s: &Stores) {
    let owner = new_user();
    let order = stored_order(s, &owner, 10_000).await;
    let too_much = record_of(&order, 10_001, PaymentStatus::Pending);
    let outcome = s
        .payments
        .record_payment(&too_much, &order)
        .await
        .expect("record");
    assert_eq!(outcome, RecordOutcome::PayableChanged);
    assert_eq!(
        s.payments.get_payment(&too_much.id).await.expect("read"),
        None
    );

    let mut stale = order.clone();
    stale.amount = usd(20_000);
    let outcome = s
        .payments
        .record_payment(&record_of(&stale, 100, PaymentStatus::Pending), &stale)
        .await
        .expect("record");
    assert_eq!(
        outcome,
        RecordOutcome::PayableChanged,
        "priced otherwise than read"
    );

    let held = stored_order(s, &owner, 10_000).await;
    open_on(s, &held).await;
    let outcome = s
        .payments
        .record_payment(&record_of(&held, 100, PaymentStatus::Pending), &held)
        .await
        .expect("record");
    assert_eq!(outcome, RecordOutcome::PayableChanged, "an intent holds it");

    let missing = new_order(&owner, 100);
    let outcome = s
        .payments
        .record_payment(&record_of(&missing, 100, PaymentStatus::Failed), &missing)
        .await
        .expect("record");
    assert_eq!(outcome, RecordOutcome::PayableChanged);
    assert_eq!(payable(s, &order).await.allocated_minor, 0);
}

pub async fn concurrent_payments_stay_within_the_total(s: &Stores) {
    let order = stored_order(s, &new_user(), 10_000).await;
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let s = s.clone();
            let order = order.clone();
            tokio::spawn(async move {
                let payment = record_of(&order, 4_000, PaymentStatus::Pending);
                s.payments.record_payment(&payment, &order).await
            })
        })
        .collect();
    let mut recorded = 0;
    for task in tasks {
        if task.await.expect("task").expect("record") == RecordOutcome::Recorded {
            recorded += 1;
        }
    }
    // Racing writers may also all lose and retry; none may ever overfill.
    assert!(
        recorded <= 2,
        "two of 40.00 fit in 100.00, a third never does"
    );
    assert_eq!(payable(s, &order).await.allocated_minor, 4_000 * recorded);
}

pub async fn completing_a_payable_settles_its_pending_payments_all_or_nothing(s: &Stores) {
    let order = stored_order(s, &new_user(), 10_000).await;
    let first = record_of(&order, 3_000, PaymentStatus::Pending);
    s.payments
        .record_payment(&first, &order)
        .await
        .expect("record");
    let read = payable(s, &order).await;
    let second = record_of(&read, 2_000, PaymentStatus::Pending);
    s.payments
        .record_payment(&second, &read)
        .await
        .expect("record");

    // Read before the second payment: the sums no longer match, nothing changes.
    let extra = record_of(&read, 7_000, PaymentStatus::Completed);
    let lost = s
        .payables
        .complete_payable(&read, std::slice::from_ref(&first), Some(&extra), now())
        .await;
    assert!(matches!(lost, Err(StoreError::Conflict)), "{lost:?}");
    let first_now = s
        .payments
        .get_payment(&first.id)
        .await
        .expect("read")
        .expect("first");
    assert_eq!(first_now.status, PaymentStatus::Pending);
    assert_eq!(s.payments.get_payment(&extra.id).await.expect("read"), None);
    assert_eq!(payable(s, &order).await.status, PayableStatus::Open);

    let read = payable(s, &order).await;
    let extra = record_of(&read, 5_000, PaymentStatus::Completed);
    s.payables
        .complete_payable(&read, &[first.clone(), second.clone()], Some(&extra), now())
        .await
        .expect("complete");
    let p = payable(s, &order).await;
    assert_eq!(p.status, PayableStatus::Paid);
    assert_eq!((p.allocated_minor, p.paid_minor), (10_000, 10_000));
    for id in [first.id, second.id, extra.id] {
        let payment = s
            .payments
            .get_payment(&id)
            .await
            .expect("read")
            .expect("payment");
        assert_eq!(payment.status, PaymentStatus::Completed);
    }
    // Already paid: settling again loses.
    let again = s.payables.complete_payable(&read, &[], None, now()).await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
}

pub async fn payment_lists_are_newest_first(s: &Stores) {
    let owner = new_user();
    let order = stored_order(s, &owner, 10_000).await;
    let mut ids = Vec::new();
    for _ in 0..4 {
        let read = payable(s, &order).await;
        let payment = record_of(&read, 1_000, PaymentStatus::Pending);
        s.payments
            .record_payment(&payment, &read)
            .await
            .expect("record");
        ids.push(payment.id);
    }
    let elsewhere = stored_order(s, &owner, 500).await;
    let other = record_of(&elsewhere, 500, PaymentStatus::Pending);
    s.payments
        .record_payment(&other, &elsewhere)
        .await
        .expect("record");
    ids.sort_by_key(|id| std::cmp::Reverse(id.to_string()));

    let mut seen = Vec::new();
    let mut cursor = None;
    for _ in 0..10 {
        let page = s
            .payments
            .list_payments_by_payable(&order.payable, 3, cursor.as_deref())
            .await
            .expect("page");
        seen.extend(page.items.iter().map(|p| p.id));
        cursor = page.next;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen, ids);

    let mut mine: Vec<_> = ids.clone();
    mine.push(other.id);
    mine.sort_by_key(|id| std::cmp::Reverse(id.to_string()));
    let all = s
        .payments
        .list_payments_by_user(&owner, 10, 0)
        .await
        .expect("list");
    assert_eq!(all.iter().map(|p| p.id).collect::<Vec<_>>(), mine);
    let window = s
        .payments
        .list_payments_by_user(&owner, 2, 3)
        .await
        .expect("list");
    assert_eq!(
        window.iter().map(|p| p.id).collect::<Vec<_>>(),
        mine[3..5].to_vec()
    );
    let past_end = s
        .payments
        .list_payments_by_user(&owner, 2, 9)
        .await
        .expect("list");
    assert!(past_end.is_empty());
    assert!(
        s.payments
            .list_payments_by_user(&new_user(), 10, 0)
            .await
            .expect("list")
            .is_empty()
    );
}

fn response(body: &str) -> StoredResponse {
    StoredResponse {
        status: 201,
        content_type: "application/json".into(),
        body: body.into(),
    }
}

pub async fn idempotency_claim_replay_mismatch_and_in_flight(s: &Stores) {
    let scope = unique("caller");
    let t = now();
    let ledger = &s.idempotency;
    assert_eq!(
        ledger.claim(&scope, "k1", "fp", t).await.expect("claim"),
        Idempotent::Claimed
    );
    assert_eq!(
        ledger.claim(&scope, "k1", "fp", t).await.expect("claim"),
        Idempotent::InFlight
    );
    assert_eq!(
        ledger.claim(&scope, "k1", "other", t).await.expect("claim"),
        Idempotent::Mismatch
    );
    ledger
        .complete(&scope, "k1", &response("{\"id\":1}"), t)
        .await
        .expect("complete");
    assert_eq!(
        ledger.claim(&scope, "k1", "fp", t).await.expect("claim"),
        Idempotent::Replay(response("{\"id\":1}"))
    );
    assert_eq!(
        ledger.claim(&scope, "k1", "other", t).await.expect("claim"),
        Idempotent::Mismatch
    );
    // Keys are the caller's own.
    let other = unique("caller");
    assert_eq!(
        ledger.claim(&other, "k1", "fp", t).await.expect("claim"),
        Idempotent::Claimed
    );
}

pub async fn idempotency_records_expire_and_stale_claims_are_taken_over(s: &Stores) {
    let scope = unique("caller");
    let t = now();
    let ledger = &s.idempotency;
    assert_eq!(
        ledger.claim(&scope, "run", "fp", t).await.expect("claim"),
        Idempotent::Claimed
    );
    let later = t + Duration::minutes(4);
    assert_eq!(
        ledger
            .claim(&scope, "run", "fp", later)
            .await
            .expect("claim"),
        Idempotent::InFlight
    );
    // Its function died: after five minutes the claim is anyone's with the same key.
    let stale = t + Duration::minutes(5) + Duration::seconds(2);
    assert_eq!(
        ledger
            .claim(&scope, "run", "fp", stale)
            .await
            .expect("claim"),
        Idempotent::Claimed
    );
    assert_eq!(
        ledger
            .claim(&scope, "run", "fp", stale)
            .await
            .expect("claim"),
        Idempotent::InFlight
    );

    ledger
        .complete(&scope, "run", &response("{}"), stale)
        .await
        .expect("complete");
    let long_after = stale + Duration::hours(1);
    assert_eq!(
        ledger
            .claim(&scope, "run", "fp", long_after)
            .await
            .expect("claim"),
        Idempotent::Replay(response("{}")),
        "a finished response is never stale"
    );
    // Kept 24 hours; storage may delete late, so an expired record counts as absent.
    let expired = stale + Duration::hours(24) + Duration::seconds(2);
    assert_eq!(
        ledger
            .claim(&scope, "run", "new", expired)
            .await
            .expect("claim"),
        Idempotent::Claimed
    );
}

pub async fn a_released_key_runs_again(s: &Stores) {
    let scope = unique("caller");
    let t = now();
    let ledger = &s.idempotency;
    assert_eq!(
        ledger.claim(&scope, "k", "fp", t).await.expect("claim"),
        Idempotent::Claimed
    );
    ledger.release(&scope, "k").await.expect("release");
    assert_eq!(
        ledger.claim(&scope, "k", "other", t).await.expect("claim"),
        Idempotent::Claimed
    );
    ledger
        .release(&scope, "never-claimed")
        .await
        .expect("release of nothing");
}
