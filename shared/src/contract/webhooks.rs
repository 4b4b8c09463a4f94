//! Webhook endpoints and deliveries: what both adapters do alike. Each case
//! runs on fresh ports (a fresh table, or a fresh memory), through
//! [`webhook_storage_contract!`](crate::webhook_storage_contract).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use secrecy::{ExposeSecret, SecretString};

use super::*;
use crate::domain::delivery::EventRef;
use crate::domain::{
    Attempt, Delivery, DeliveryId, DeliveryStatus, EnabledEvents, EndpointId, EndpointUrl,
    NoAnswer, OldSecretLifetime, RetryPolicy, SecretRotation, WebhookEndpoint,
};
use crate::ports::{DeliveryCreate, DeliveryPost, DeliverySender, Webhooks};

/// Declares one `#[tokio::test]` per webhook contract case, each on fresh
/// ports built by `$webhooks` (an expression, awaited inside the test when
/// it needs to be).
#[macro_export]
macro_rules! webhook_storage_contract {
    ($webhooks:expr) => {
        $crate::webhook_storage_contract!(@cases $webhooks;
            an_endpoint_is_created_then_replaced_keeping_its_secret,
            a_rotation_keeps_the_replaced_secret_until_it_expires,
            rotations_at_once_retire_each_others_secrets,
            endpoints_are_listed_and_deleted,
            a_delivery_is_created_once_per_endpoint_and_event,
            saving_a_delivery_expects_the_version_it_read,
            every_outcome_of_an_attempt_reads_back,
            a_lane_gives_the_pending_deliveries_around_one_in_order,
            only_pending_deliveries_that_are_due_are_due,
            each_endpoint_has_a_due_list_of_its_own,
            an_endpoints_deliveries_list_newest_first_with_cursors,
        );
    };
    (@cases $webhooks:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let webhooks: $crate::ports::Webhooks = $webhooks;
                $crate::contract::$case(&webhooks).await;
            }
        )*
    };
}

/// The sender of ports that only store: the contract sends nothing.
pub struct NoSender;

#[async_trait::async_trait]
impl DeliverySender for NoSender {
    async fn post(&self, _: &DeliveryPost) -> Result<u16, NoAnswer> {
        // The storage contract sends nothing.
        Err(NoAnswer::ConnectionRefused)
    }
}

fn endpoint(id: &str, url: &str, t: OffsetDateTime) -> WebhookEndpoint {
    WebhookEndpoint::new(
        EndpointId::parse(id).expect("id"),
        EndpointUrl::parse(url, false).expect("url"),
        EnabledEvents::All,
        SecretString::from(format!("whsec_{}", unique("s"))),
        t,
    )
}

fn delivery(endpoint: &str, event: &str, object: &str, created: OffsetDateTime) -> Delivery {
    Delivery::new(
        &EndpointId::parse(endpoint).expect("id"),
        EventRef {
            id: event.into(),
            event_type: "payment_intent.succeeded".into(),
            object_id: object.into(),
            created,
        },
        created,
    )
}

pub async fn an_endpoint_is_created_then_replaced_keeping_its_secret(w: &Webhooks) {
    let t = now();
    let first = endpoint("ops", "https://a.example.com/h", t);
    let written = w.endpoints.put_endpoint(&first).await.expect("put");
    assert!(written.created);
    let again = WebhookEndpoint::new(
        EndpointId::parse("ops").expect("id"),
        EndpointUrl::parse("https://b.example.com/h", false).expect("url"),
        EnabledEvents::parse(&["refund.created".to_owned()]).expect("events"),
        SecretString::from(format!("whsec_{}", unique("s"))),
        t + Duration::seconds(5),
    );
    let replaced = w.endpoints.put_endpoint(&again).await.expect("put");
    assert!(!replaced.created);
    assert_eq!(
        replaced.endpoint.secret().expose_secret(),
        first.secret().expose_secret()
    );
    assert_eq!(replaced.endpoint.created(), t);
    let read = w
        .endpoints
        .get_endpoint(first.id())
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(read.url().as_str(), "https://b.example.com/h");
    assert_eq!(read.enabled_events(), again.enabled_events());
    assert_eq!(
        read.secret().expose_secret(),
        first.secret().expose_secret()
    );
    assert_eq!(
        (read.created(), read.updated()),
        (t, t + Duration::seconds(5))
    );
}

fn rotation(t: OffsetDateTime, old_lives: i64) -> SecretRotation {
    SecretRotation::new(
        SecretString::from(format!("whsec_{}", unique("rotated"))),
        OldSecretLifetime::parse(old_lives).expect("lifetime"),
        t,
    )
}

fn secret_of(endpoint: &WebhookEndpoint) -> &str {
    endpoint.secret().expose_secret()
}

fn retiring_of(endpoint: &WebhookEndpoint) -> Option<(&str, OffsetDateTime)> {
    endpoint
        .previous_secret()
        .as_ref()
        .map(|p| (p.secret.expose_secret(), p.expires))
}

pub async fn a_rotation_keeps_the_replaced_secret_until_it_expires(w: &Webhooks) {
    let t = now();
    let first = endpoint("ops", "https://a.example.com/h", t);
    w.endpoints.put_endpoint(&first).await.expect("put");

    let later = t + Duration::seconds(10);
    let rotated = rotation(later, 3600);
    let written = w
        .endpoints
        .rotate_secret(first.id(), &rotated)
        .await
        .expect("rotate")
        .expect("the endpoint exists");
    let expires = rotated.old_expires.expect("an overlap");
    let read = w
        .endpoints
        .get_endpoint(first.id())
        .await
        .expect("get")
        .expect("exists");
    for e in [&written, &read] {
        assert_eq!(secret_of(e), rotated.new_secret.expose_secret());
        assert_eq!(retiring_of(e), Some((secret_of(&first), expires)));
        assert_eq!((e.created(), e.updated()), (t, later));
        assert_eq!(e.url().as_str(), "https://a.example.com/h");
    }

    // A replace changes the URL and keeps both secrets.
    let again = endpoint("ops", "https://b.example.com/h", later);
    let replaced = w.endpoints.put_endpoint(&again).await.expect("put");
    let read = w
        .endpoints
        .get_endpoint(first.id())
        .await
        .expect("get")
        .expect("exists");
    for e in [&replaced.endpoint, &read] {
        assert_eq!(secret_of(e), rotated.new_secret.expose_secret());
        assert_eq!(retiring_of(e), Some((secret_of(&first), expires)));
    }

    // A rotation whose old secret ends now keeps none.
    let ended = rotation(later, 0);
    w.endpoints
        .rotate_secret(first.id(), &ended)
        .await
        .expect("rotate")
        .expect("exists");
    let read = w
        .endpoints
        .get_endpoint(first.id())
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(secret_of(&read), ended.new_secret.expose_secret());
    assert!(read.previous_secret().is_none());

    let unknown = EndpointId::parse("nobody").expect("id");
    assert!(
        w.endpoints
            .rotate_secret(&unknown, &rotation(later, 60))
            .await
            .expect("rotate")
            .is_none()
    );
    assert!(
        w.endpoints
            .get_endpoint(&unknown)
            .await
            .expect("get")
            .is_none(),
        "a rotation creates nothing"
    );
}

pub async fn rotations_at_once_retire_each_others_secrets(w: &Webhooks) {
    let t = now();
    let first = endpoint("ops", "https://a.example.com/h", t);
    w.endpoints.put_endpoint(&first).await.expect("put");
    let (a, b) = (rotation(t, 600), rotation(t, 600));
    let (after_a, after_b) = tokio::join!(
        w.endpoints.rotate_secret(first.id(), &a),
        w.endpoints.rotate_secret(first.id(), &b),
    );
    let (after_a, after_b) = (
        after_a.expect("rotate").expect("exists"),
        after_b.expect("rotate").expect("exists"),
    );
    let (a, b) = (a.new_secret.expose_secret(), b.new_secret.expose_secret());
    let original = secret_of(&first);
    // One went first and retired the original secret; the other retired
    // the first one's, so every secret handed out signed for a while.
    let (earlier, later) = if retiring_of(&after_a).map(|r| r.0) == Some(original) {
        (&after_a, &after_b)
    } else {
        (&after_b, &after_a)
    };
    assert_eq!(retiring_of(earlier).map(|r| r.0), Some(original));
    assert_eq!(retiring_of(later).map(|r| r.0), Some(secret_of(earlier)));
    let read = w
        .endpoints
        .get_endpoint(first.id())
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(secret_of(&read), secret_of(later));
    assert_eq!(retiring_of(&read).map(|r| r.0), Some(secret_of(earlier)));
    let mut handed_out = [secret_of(earlier), secret_of(later)];
    handed_out.sort_unstable();
    let mut expected = [a, b];
    expected.sort_unstable();
    assert_eq!(handed_out, expected);
}

pub async fn endpoints_are_listed_and_deleted(w: &Webhooks) {
    let t = now();
    for id in ["a", "b", "c"] {
        w.endpoints
            .put_endpoint(&endpoint(id, "https://example.com", t))
            .await
            .expect("put");
    }
    let mut ids: Vec<String> = w
        .endpoints
        .list_endpoints()
        .await
        .expect("list")
        .iter()
        .map(|e| e.id().to_string())
        .collect();
    ids.sort();
    assert_eq!(ids, ["a", "b", "c"]);
    let b = EndpointId::parse("b").expect("id");
    assert!(w.endpoints.delete_endpoint(&b).await.expect("delete"));
    assert!(!w.endpoints.delete_endpoint(&b).await.expect("again"));
    assert!(w.endpoints.get_endpoint(&b).await.expect("get").is_none());
    assert_eq!(w.endpoints.list_endpoints().await.expect("list").len(), 2);
}

pub async fn a_delivery_is_created_once_per_endpoint_and_event(w: &Webhooks) {
    let d = delivery("ops", "evt_1", "pi_1", now());
    assert!(matches!(
        w.deliveries.create_delivery(&d).await.expect("create"),
        DeliveryCreate::Created
    ));
    let mut sent = d.claimed(now() + Duration::seconds(30));
    w.deliveries
        .save_delivery(&mut sent)
        .await
        .expect("claimed");
    match w.deliveries.create_delivery(&d).await.expect("again") {
        DeliveryCreate::Exists(existing) => assert_eq!(*existing, sent),
        DeliveryCreate::Created => panic!("created twice"),
    }
    // The same event to another endpoint is another delivery.
    assert!(matches!(
        w.deliveries
            .create_delivery(&delivery("other", "evt_1", "pi_1", now()))
            .await
            .expect("create"),
        DeliveryCreate::Created
    ));
}

pub async fn saving_a_delivery_expects_the_version_it_read(w: &Webhooks) {
    let d = delivery("ops", "evt_1", "pi_1", now());
    w.deliveries.create_delivery(&d).await.expect("create");
    let policy = RetryPolicy::new(Duration::seconds(1));
    let mut claimed = d.claimed(now() + Duration::seconds(30));
    assert_eq!(
        claimed.version(),
        d.version(),
        "a change keeps the version it was read at"
    );
    w.deliveries
        .save_delivery(&mut claimed)
        .await
        .expect("claim");
    assert_eq!(
        claimed.version(),
        d.version() + 1,
        "written at the next version"
    );
    // Another sender that read the first version loses, and keeps what it read.
    let mut late = d.claimed(now() + Duration::seconds(30));
    assert!(matches!(
        w.deliveries.save_delivery(&mut late).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(late.version(), d.version());
    let mut failed = claimed.after(Attempt::answered(now(), 500, 12), &policy);
    w.deliveries
        .save_delivery(&mut failed)
        .await
        .expect("outcome");
    let mut done = failed.after(
        Attempt::unanswered(now(), 10_000, NoAnswer::Timeout),
        &policy,
    );
    w.deliveries
        .save_delivery(&mut done)
        .await
        .expect("outcome");
    assert_eq!(done.version(), d.version() + 3);
    match w.deliveries.create_delivery(&d).await.expect("read back") {
        DeliveryCreate::Exists(stored) => assert_eq!(*stored, done),
        DeliveryCreate::Created => panic!("lost"),
    }
}

pub async fn every_outcome_of_an_attempt_reads_back(w: &Webhooks) {
    let d = delivery("ops", "evt_1", "pi_1", now());
    w.deliveries.create_delivery(&d).await.expect("create");
    // A long window: every attempt below is a retry, none the last.
    let policy = RetryPolicy::new(Duration::milliseconds(1));
    let mut stored = d.clone();
    let outcomes = NoAnswer::ALL
        .into_iter()
        .map(|reason| Attempt::unanswered(now(), 7, reason))
        .chain([Attempt::answered(now(), 302, 5)]);
    for attempt in outcomes {
        let mut claimed = stored.claimed(now() + Duration::seconds(30));
        w.deliveries
            .save_delivery(&mut claimed)
            .await
            .expect("claim");
        stored = claimed.after(attempt, &policy);
        w.deliveries
            .save_delivery(&mut stored)
            .await
            .expect("outcome");
    }
    match w.deliveries.create_delivery(&d).await.expect("read back") {
        DeliveryCreate::Exists(read) => {
            assert_eq!(*read, stored);
            let errors: Vec<Option<NoAnswer>> = read.attempts.iter().map(Attempt::error).collect();
            assert_eq!(errors[..6], NoAnswer::ALL.map(Some));
            assert_eq!(read.attempts[6].status_code(), Some(302));
            assert_eq!(read.attempts[6].error(), None);
        }
        DeliveryCreate::Created => panic!("lost"),
    }
}

pub async fn a_lane_gives_the_pending_deliveries_around_one_in_order(w: &Webhooks) {
    let t = now();
    let first = delivery("ops", "evt_a", "pi_1", t);
    let second = delivery("ops", "evt_b", "pi_1", t + Duration::seconds(1));
    let third = delivery("ops", "evt_c", "pi_1", t + Duration::seconds(2));
    let elsewhere = delivery("ops", "evt_d", "pi_2", t);
    let other_endpoint = delivery("other", "evt_e", "pi_1", t);
    for d in [&third, &first, &second, &elsewhere, &other_endpoint] {
        w.deliveries.create_delivery(d).await.expect("create");
    }
    let lane = |d: Delivery| async move {
        let pending = w.deliveries.pending_in_lane(&d).await.expect("read");
        let key = d.order_key();
        let earlier = pending.iter().find(|p| p.order_key() < key).cloned();
        let next = pending.into_iter().find(|p| p.order_key() > key);
        (earlier, next)
    };
    let earlier = |d: Delivery| async move { lane(d).await.0 };
    let next = |d: Delivery| async move { lane(d).await.1 };
    let around: Vec<DeliveryId> = w
        .deliveries
        .pending_in_lane(&second)
        .await
        .expect("read")
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(around, [first.id.clone(), third.id.clone()]);
    assert_eq!(earlier(first.clone()).await, None);
    assert_eq!(
        earlier(third.clone()).await.map(|d| d.id),
        Some(first.id.clone())
    );
    assert_eq!(
        next(first.clone()).await.map(|d| d.id),
        Some(second.id.clone())
    );
    assert_eq!(next(third.clone()).await, None);
    // Finished deliveries no longer hold their lane.
    let mut claimed = first.claimed(t);
    w.deliveries
        .save_delivery(&mut claimed)
        .await
        .expect("claim");
    let mut done = claimed.after(
        Attempt::answered(t, 200, 3),
        &RetryPolicy::new(Duration::seconds(1)),
    );
    w.deliveries.save_delivery(&mut done).await.expect("done");
    assert_eq!(done.status, DeliveryStatus::Succeeded);
    assert_eq!(
        earlier(third.clone()).await.map(|d| d.id),
        Some(second.id.clone())
    );
    assert_eq!(earlier(second.clone()).await, None);
    assert_eq!(
        next(first.clone()).await.map(|d| d.id),
        Some(second.id.clone())
    );
}

pub async fn only_pending_deliveries_that_are_due_are_due(w: &Webhooks) {
    let t = now();
    let due = delivery("ops", "evt_due", "pi_1", t - Duration::seconds(5));
    let later = delivery("ops", "evt_later", "pi_2", t + Duration::seconds(60));
    let finished = delivery("ops", "evt_done", "pi_3", t - Duration::seconds(10));
    for d in [&due, &later, &finished] {
        w.deliveries.create_delivery(d).await.expect("create");
    }
    let mut claimed = finished.claimed(t);
    w.deliveries
        .save_delivery(&mut claimed)
        .await
        .expect("claim");
    w.deliveries
        .save_delivery(&mut claimed.abandoned("gone"))
        .await
        .expect("abandoned");
    let ops = EndpointId::parse("ops").expect("id");
    let due_at = |at: OffsetDateTime, limit: usize| {
        let ops = ops.clone();
        async move {
            let due = w.deliveries.due_deliveries_to(&ops, at, None, limit);
            ids(due.await.expect("due"))
        }
    };
    assert_eq!(due_at(t, 10).await, ["evt_due"]);
    assert_eq!(
        due_at(t + Duration::seconds(60), 10).await,
        ["evt_due", "evt_later"],
        "soonest first, due at the very instant included"
    );
    assert_eq!(due_at(t + Duration::seconds(60), 1).await, ["evt_due"]);
    // Claimed, it is due again only when its claim runs out.
    let mut claimed = due.claimed(t + Duration::seconds(30));
    w.deliveries
        .save_delivery(&mut claimed)
        .await
        .expect("claim");
    assert_eq!(due_at(t, 10).await, Vec::<String>::new());
    assert_eq!(
        due_at(t + Duration::seconds(60), 10).await,
        ["evt_due", "evt_later"]
    );
}

fn ids(ds: Vec<Delivery>) -> Vec<String> {
    ds.into_iter().map(|d| d.event.id).collect()
}

pub async fn each_endpoint_has_a_due_list_of_its_own(w: &Webhooks) {
    let t = now();
    let (busy, calm) = (
        EndpointId::parse("busy").expect("id"),
        EndpointId::parse("calm").expect("id"),
    );
    // The busy endpoint's are all due before the calm one's.
    for n in 0..5 {
        let d = delivery(
            "busy",
            &format!("evt_busy_{n}"),
            &format!("pi_{n}"),
            t - Duration::seconds(60 - n),
        );
        w.deliveries.create_delivery(&d).await.expect("create");
    }
    let calm_one = delivery("calm", "evt_calm", "pi_0", t - Duration::seconds(1));
    w.deliveries
        .create_delivery(&calm_one)
        .await
        .expect("create");

    let list = |endpoint: &EndpointId, after: Option<Delivery>, limit: usize| {
        let endpoint = endpoint.clone();
        async move {
            w.deliveries
                .due_deliveries_to(&endpoint, t, after.as_ref(), limit)
                .await
                .expect("due")
        }
    };
    assert_eq!(ids(list(&calm, None, 10).await), ["evt_calm"]);
    let first = list(&busy, None, 2).await;
    assert_eq!(ids(first.clone()), ["evt_busy_0", "evt_busy_1"]);
    // Read on from the last one given.
    let rest = list(&busy, first.last().cloned(), 10).await;
    assert_eq!(ids(rest), ["evt_busy_2", "evt_busy_3", "evt_busy_4"]);
    // From one that has moved since (claimed): from where it was.
    let mut moved = first[1].claimed(t + Duration::seconds(30));
    w.deliveries.save_delivery(&mut moved).await.expect("claim");
    assert_eq!(
        ids(list(&busy, Some(first[1].clone()), 1).await),
        ["evt_busy_2"]
    );
    let nobody = EndpointId::parse("nobody").expect("id");
    assert!(list(&nobody, None, 10).await.is_empty());
    // Every due delivery is in its endpoint's list: none strays.
    assert!(
        w.deliveries
            .stray_due_deliveries(t, 10)
            .await
            .expect("strays")
            .is_empty()
    );
}

pub async fn an_endpoints_deliveries_list_newest_first_with_cursors(w: &Webhooks) {
    let t = now();
    let ops = EndpointId::parse("ops").expect("id");
    for n in 0..5 {
        let d = delivery(
            "ops",
            &format!("evt_{n}"),
            &format!("pi_{n}"),
            t + Duration::seconds(n),
        );
        w.deliveries.create_delivery(&d).await.expect("create");
    }
    w.deliveries
        .create_delivery(&delivery("other", "evt_x", "pi_x", t))
        .await
        .expect("create");
    let mut seen = Vec::new();
    let mut request = PageRequest::first(2);
    loop {
        let page = w
            .deliveries
            .list_deliveries(&ops, &request)
            .await
            .expect("page");
        seen.extend(page.items.into_iter().map(|d| d.event.id));
        match page.next {
            Some(next) => request.cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, ["evt_4", "evt_3", "evt_2", "evt_1", "evt_0"]);
    let other = EndpointId::parse("other").expect("id");
    let first = w
        .deliveries
        .list_deliveries(&ops, &PageRequest::first(2))
        .await
        .expect("page");
    let foreign = first.next.expect("more");
    assert!(matches!(
        w.deliveries
            .list_deliveries(&other, &PageRequest::after(2, &foreign))
            .await,
        Err(StoreError::BadCursor)
    ));
    assert!(matches!(
        w.deliveries
            .list_deliveries(&ops, &PageRequest::after(2, "forged"))
            .await,
        Err(StoreError::BadCursor)
    ));
}
