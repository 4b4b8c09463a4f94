//! Webhook deliveries on the in-memory adapter, to a receiver the test
//! scripts: fan-out, dedupe, signatures, backoff, order per object.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use secrecy::ExposeSecret;
use time::{Duration, OffsetDateTime};

use super::TestApp;
use crate::adapters::memory::MemoryWebhooks;
use crate::app::App;
use crate::app::{AppError, deliveries, webhook_endpoints};
use crate::domain::delivery::{EventRef, RETRY_WINDOW};
use crate::domain::{
    Delivery, DeliveryStatus, EnabledEvents, EndpointId, EndpointUrl, NoAnswer, WebhookEndpoint,
    webhook_signature,
};
use crate::ports::{
    DeliveryPost, DeliverySender, EventsToDeliver, OutgoingEvent, PageRequest, StoreError, Webhooks,
};

/// Answers each URL as scripted (then 200), and keeps every post.
#[derive(Default)]
struct Receiver {
    script: Mutex<HashMap<String, VecDeque<Result<u16, NoAnswer>>>>,
    posts: Mutex<Vec<DeliveryPost>>,
    /// The next post is held until the test lets it go: (entered, release).
    hold: Mutex<Option<(Arc<Notify>, Arc<Notify>)>>,
}

impl Receiver {
    fn answer(&self, url: &str, answers: Vec<Result<u16, NoAnswer>>) {
        self.script
            .lock()
            .expect("script")
            .insert(url.to_owned(), answers.into());
    }

    /// Holds the next post in the middle of its send: `entered` is told
    /// when it arrives, and it answers once `release` is told.
    fn hold_next_post(&self) -> (Arc<Notify>, Arc<Notify>) {
        let gate = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        *self.hold.lock().expect("hold") = Some(gate.clone());
        gate
    }

    fn posts(&self) -> Vec<DeliveryPost> {
        self.posts.lock().expect("posts").clone()
    }

    /// The event ids posted, in order.
    fn events(&self) -> Vec<String> {
        self.posts()
            .iter()
            .map(|p| {
                let body: serde_json::Value = serde_json::from_slice(&p.body).expect("json");
                body["id"].as_str().expect("id").to_owned()
            })
            .collect()
    }
}

#[async_trait::async_trait]
impl DeliverySender for Receiver {
    async fn post(&self, post: &DeliveryPost) -> Result<u16, NoAnswer> {
        self.posts.lock().expect("posts").push(post.clone());
        let held = self.hold.lock().expect("hold").take();
        if let Some((entered, release)) = held {
            entered.notify_one();
            release.notified().await;
        }
        self.script
            .lock()
            .expect("script")
            .get_mut(&post.url)
            .and_then(VecDeque::pop_front)
            .unwrap_or(Ok(200))
    }
}

/// The events of the memory store, but those the test names cannot be read.
struct Events {
    store: Arc<MemoryWebhooks>,
    unreadable: Mutex<Vec<String>>,
}

impl Events {
    fn unreadable(&self, id: &str) {
        self.unreadable.lock().expect("ids").push(id.to_owned());
    }
}

#[async_trait::async_trait]
impl EventsToDeliver for Events {
    async fn event(&self, id: &str) -> Result<Option<OutgoingEvent>, StoreError> {
        if self.unreadable.lock().expect("ids").iter().any(|u| u == id) {
            return Err(StoreError::Unavailable("the events cannot be read".into()));
        }
        self.store.event(id).await
    }
}

struct Setup {
    t: TestApp,
    app: Arc<App>,
    store: Arc<MemoryWebhooks>,
    events: Arc<Events>,
    receiver: Arc<Receiver>,
}

fn setup() -> Setup {
    let t = TestApp::new();
    let store = Arc::new(MemoryWebhooks::new());
    let events = Arc::new(Events {
        store: store.clone(),
        unreadable: Mutex::new(Vec::new()),
    });
    let receiver = Arc::new(Receiver::default());
    let mut app = t.restarted().app;
    app.webhooks = Webhooks::sharing(store.clone(), events.clone(), receiver.clone());
    Setup {
        app: Arc::new(app),
        t,
        store,
        events,
        receiver,
    }
}

impl Setup {
    fn now(&self) -> OffsetDateTime {
        self.t.clock_now()
    }

    async fn endpoint(&self, id: &str, events: &[&str]) -> WebhookEndpoint {
        let events: Vec<String> = events.iter().map(|e| (*e).to_owned()).collect();
        webhook_endpoints::put(
            &self.app,
            EndpointId::parse(id).expect("id"),
            EndpointUrl::parse(&format!("https://{id}.example.com/hooks"), false).expect("url"),
            EnabledEvents::parse(&events).expect("events"),
        )
        .await
        .expect("stored")
        .endpoint
    }

    fn event(&self, id: &str, event_type: &str, object: &str, created: OffsetDateTime) {
        self.event_following(id, event_type, object, created, &[]);
    }

    /// An event its change wrote after `follows` (about the same object).
    fn event_following(
        &self,
        id: &str,
        event_type: &str,
        object: &str,
        created: OffsetDateTime,
        follows: &[&str],
    ) {
        let body = serde_json::json!({
            "id": id, "object": "event", "type": event_type,
            "created": created.unix_timestamp(), "data": {"object": {"id": object}},
        });
        self.store.add_event(OutgoingEvent {
            id: id.into(),
            event_type: event_type.into(),
            object_id: object.into(),
            created,
            body: body.to_string().into_bytes(),
            follows: follows.iter().map(|f| (*f).to_owned()).collect(),
        });
    }

    /// An endpoint `ops` for every type, and two events about `object`, the
    /// second a second after the first.
    async fn ops_and_two_events(&self, object: &str, first: [&str; 2], second: [&str; 2]) {
        self.endpoint("ops", &["*"]).await;
        let t0 = self.now();
        self.event(first[0], first[1], object, t0);
        self.event(second[0], second[1], object, t0 + Duration::seconds(1));
    }

    /// What the deliveries' dispatch does with one stream record.
    async fn dispatch(&self, event_id: &str) -> usize {
        let created = deliveries::fan_out(&self.app, event_id)
            .await
            .expect("fanned out");
        deliveries::deliver(self.app.clone(), created).await
    }

    async fn retry(&self) -> usize {
        deliveries::retry_due(self.app.clone())
            .await
            .expect("retry pass")
    }

    /// `n` deliveries to `endpoint` (made after it), each about an object
    /// of its own; the first due at `since`, the next a millisecond later,
    /// and so on.
    async fn due_backlog(&self, endpoint: &str, n: usize, since: OffsetDateTime) {
        let endpoint = EndpointId::parse(endpoint).expect("id");
        for i in 0..n {
            let id = format!("evt_{endpoint}_{i}");
            let at = since + Duration::milliseconds(i64::try_from(i).expect("small"));
            self.event(&id, "payment.created", &format!("pay_{endpoint}_{i}"), at);
            let event = EventRef {
                id,
                event_type: "payment.created".into(),
                object_id: format!("pay_{endpoint}_{i}"),
                created: at,
            };
            self.app
                .webhooks
                .deliveries
                .create_delivery(&Delivery::new(&endpoint, event, at))
                .await
                .expect("stored");
        }
    }

    /// How many posts each endpoint got (by its URL's host).
    fn posts_to(&self, endpoint: &str) -> usize {
        let url = format!("https://{endpoint}.example.com/hooks");
        self.receiver
            .posts()
            .iter()
            .filter(|p| p.url == url)
            .count()
    }

    fn delivery(&self, endpoint: &str, event_id: &str) -> Delivery {
        self.store
            .deliveries()
            .into_iter()
            .find(|d| d.endpoint_id.as_str() == endpoint && d.event.id == event_id)
            .expect("a delivery")
    }
}

#[tokio::test]
async fn each_subscribed_endpoint_gets_the_event_signed_with_its_secret() {
    let s = setup();
    let all = s.endpoint("all", &["*"]).await;
    let intents = s.endpoint("intents", &["payment_intent.succeeded"]).await;
    s.endpoint("refunds", &["refund.succeeded"]).await;
    s.event("evt_1", "payment_intent.succeeded", "pi_1", s.now());

    assert_eq!(s.dispatch("evt_1").await, 2);

    let posts = s.receiver.posts();
    let mut urls: Vec<&str> = posts.iter().map(|p| p.url.as_str()).collect();
    urls.sort();
    assert_eq!(
        urls,
        [
            "https://all.example.com/hooks",
            "https://intents.example.com/hooks"
        ]
    );
    for post in &posts {
        let endpoint = if post.url.contains("//all.") {
            &all
        } else {
            &intents
        };
        let secret = endpoint.secret().expose_secret().as_bytes().to_vec();
        assert_eq!(
            webhook_signature::verify(&secret, Some(&post.signature), &post.body, s.now()),
            Ok(()),
            "{}",
            post.url
        );
        assert!(
            post.signature
                .starts_with(&format!("t={},v1=", s.now().unix_timestamp()))
        );
    }
    let d = s.delivery("all", "evt_1");
    assert_eq!(d.status, DeliveryStatus::Succeeded);
    assert_eq!(d.attempts.len(), 1);
    assert_eq!(d.attempts[0].status_code(), Some(200));
    assert_eq!(d.next_attempt_at, None);
}

#[tokio::test]
async fn a_record_dispatched_twice_makes_one_delivery_and_one_post() {
    let s = setup();
    s.endpoint("ops", &["*"]).await;
    s.event("evt_1", "payment.created", "pay_1", s.now());
    assert_eq!(s.dispatch("evt_1").await, 1);
    // The stream hands the same record over again (a retried batch).
    assert_eq!(s.dispatch("evt_1").await, 0);
    assert_eq!(s.retry().await, 0);
    assert_eq!(s.store.deliveries().len(), 1);
    assert_eq!(s.receiver.posts().len(), 1);
}

#[tokio::test]
async fn failures_are_retried_with_backoff_until_one_succeeds() {
    let s = setup();
    s.endpoint("ops", &["*"]).await;
    s.receiver.answer(
        "https://ops.example.com/hooks",
        vec![Ok(500), Err(NoAnswer::Timeout)],
    );
    s.event("evt_1", "payment.completed", "pay_1", s.now());
    let start = s.now();

    assert_eq!(s.dispatch("evt_1").await, 1);
    let d = s.delivery("ops", "evt_1");
    assert_eq!(d.status, DeliveryStatus::Pending);
    assert_eq!(d.next_attempt_at, Some(start + Duration::seconds(1)));
    // Not due yet: nothing is sent.
    assert_eq!(s.retry().await, 0);

    s.t.clock.advance(Duration::seconds(1));
    assert_eq!(s.retry().await, 1);
    let d = s.delivery("ops", "evt_1");
    assert_eq!(d.attempts[1].status_code(), None);
    assert_eq!(d.attempts[1].error(), Some(NoAnswer::Timeout));
    assert_eq!(d.next_attempt_at, Some(s.now() + Duration::seconds(2)));

    s.t.clock.advance(Duration::seconds(2));
    assert_eq!(s.retry().await, 1);
    let d = s.delivery("ops", "evt_1");
    assert_eq!(d.status, DeliveryStatus::Succeeded);
    let codes: Vec<Option<u16>> = d.attempts.iter().map(|a| a.status_code()).collect();
    assert_eq!(codes, [Some(500), None, Some(200)]);
    // An answer is its status, with no reason beside it.
    assert_eq!(d.attempts[0].error(), None);
    assert_eq!(s.receiver.events(), ["evt_1", "evt_1", "evt_1"]);
}

#[tokio::test]
async fn a_later_event_about_the_same_object_waits_behind_a_failing_one() {
    let s = setup();
    s.endpoint("ops", &["*"]).await;
    s.receiver
        .answer("https://ops.example.com/hooks", vec![Ok(503)]);
    let t0 = s.now();
    s.event("evt_created", "payment_intent.created", "pi_1", t0);
    s.event(
        "evt_succeeded",
        "payment_intent.succeeded",
        "pi_1",
        t0 + Duration::seconds(1),
    );
    s.event(
        "evt_other",
        "payment_intent.created",
        "pi_2",
        t0 + Duration::seconds(1),
    );

    s.dispatch("evt_created").await;
    s.dispatch("evt_succeeded").await;
    s.dispatch("evt_other").await;
    // The first failed; the second waits for it; another object does not.
    assert_eq!(s.receiver.events(), ["evt_created", "evt_other"]);
    let waiting = s.delivery("ops", "evt_succeeded");
    assert_eq!(waiting.status, DeliveryStatus::Pending);
    assert!(waiting.attempts.is_empty());

    // When the first goes through, the second follows at once.
    s.t.clock.advance(Duration::seconds(1));
    s.retry().await;
    assert_eq!(
        s.receiver.events(),
        ["evt_created", "evt_other", "evt_created", "evt_succeeded"]
    );
    assert_eq!(
        s.delivery("ops", "evt_succeeded").status,
        DeliveryStatus::Succeeded
    );
}

#[tokio::test]
async fn a_later_event_made_while_the_one_before_is_being_sent_goes_when_that_send_ends() {
    let s = setup();
    s.ops_and_two_events(
        "pi_1",
        ["evt_created", "payment_intent.created"],
        ["evt_succeeded", "payment_intent.succeeded"],
    )
    .await;
    let (entered, release) = s.receiver.hold_next_post();
    let app = s.app.clone();
    let first = tokio::spawn(async move {
        let made = deliveries::fan_out(&app, "evt_created")
            .await
            .expect("fan out");
        deliveries::deliver(app, made).await
    });
    // The first is being sent: its sender read the lane before the second
    // was made, so it has nothing to hand over to.
    entered.notified().await;
    let app = s.app.clone();
    let second = tokio::spawn(async move {
        let made = deliveries::fan_out(&app, "evt_succeeded")
            .await
            .expect("fan out");
        deliveries::deliver(app, made).await
    });
    // Lets the second find the first in the middle of its send.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    release.notify_one();
    first.await.expect("first sender");
    second.await.expect("second sender");
    // The second went out when the first was answered, not at the next retry pass.
    assert_eq!(s.receiver.events(), ["evt_created", "evt_succeeded"]);
    assert_eq!(
        s.delivery("ops", "evt_succeeded").status,
        DeliveryStatus::Succeeded
    );
}

#[tokio::test]
async fn an_event_whose_record_comes_first_waits_for_the_one_its_change_wrote_before() {
    let s = setup();
    s.endpoint("ops", &["*"]).await;
    let t0 = s.now();
    // One change wrote both; the stream hands over the later one alone
    // (the earlier one's record is on another shard, not read yet).
    s.event("evt_created", "payment.created", "pay_1", t0);
    s.event_following(
        "evt_completed",
        "payment.completed",
        "pay_1",
        t0,
        &["evt_created"],
    );
    assert_eq!(s.dispatch("evt_completed").await, 2);
    assert_eq!(s.receiver.events(), ["evt_created", "evt_completed"]);
    // The earlier record, read at last, finds its delivery made and sent.
    assert_eq!(s.dispatch("evt_created").await, 0);
    assert_eq!(s.receiver.events(), ["evt_created", "evt_completed"]);
    assert_eq!(s.store.deliveries().len(), 2);
}

#[tokio::test]
async fn events_of_one_batch_go_out_in_the_order_they_happened() {
    let s = setup();
    s.endpoint("ops", &["*"]).await;
    let t0 = s.now();
    // Same instant: the object's life decides; the stream's order does not.
    s.event("evt_b", "payment_intent.succeeded", "pi_1", t0);
    s.event("evt_a", "payment_intent.created", "pi_1", t0);
    let mut batch = deliveries::fan_out(&s.app, "evt_b").await.expect("b");
    batch.extend(deliveries::fan_out(&s.app, "evt_a").await.expect("a"));
    assert_eq!(deliveries::deliver(s.app.clone(), batch).await, 2);
    assert_eq!(s.receiver.events(), ["evt_a", "evt_b"]);
}

#[tokio::test]
async fn a_batch_holding_an_event_and_the_one_it_follows_sends_each_once() {
    let s = setup();
    s.endpoint("ops", &["*"]).await;
    let t0 = s.now();
    s.event("evt_a", "payment.created", "pay_1", t0);
    s.event_following("evt_b", "payment.completed", "pay_1", t0, &["evt_a"]);
    let mut batch = deliveries::fan_out(&s.app, "evt_b").await.expect("b");
    batch.extend(deliveries::fan_out(&s.app, "evt_a").await.expect("a"));
    assert_eq!(batch.len(), 3, "evt_a's delivery twice: made, then found");
    assert_eq!(deliveries::deliver(s.app.clone(), batch).await, 2);
    assert_eq!(s.receiver.events(), ["evt_a", "evt_b"]);
}

#[tokio::test]
async fn after_three_days_of_failures_a_delivery_fails_and_the_next_goes() {
    let s = setup();
    s.endpoint("ops", &["*"]).await;
    s.receiver
        .answer("https://ops.example.com/hooks", vec![Ok(500); 40]);
    let t0 = s.now();
    s.event("evt_1", "refund.created", "re_1", t0);
    s.event(
        "evt_2",
        "refund.succeeded",
        "re_1",
        t0 + Duration::seconds(1),
    );
    s.dispatch("evt_1").await;
    s.dispatch("evt_2").await;
    let mut passes = 0;
    while s.delivery("ops", "evt_1").status == DeliveryStatus::Pending {
        let next = s.delivery("ops", "evt_1").next_attempt_at.expect("due");
        s.t.clock.advance((next - s.now()).max(Duration::ZERO));
        s.retry().await;
        passes += 1;
        assert!(passes < 40, "never gave up");
    }
    let first = s.delivery("ops", "evt_1");
    assert_eq!(first.status, DeliveryStatus::Failed);
    let last = first.attempts.last().expect("attempts").at;
    assert_eq!(last - first.attempts[0].at, RETRY_WINDOW);
    // It waited the whole time and went as soon as the first was given up.
    let second = s.delivery("ops", "evt_2");
    assert_eq!(second.attempts.len(), 1);
    assert_eq!(second.attempts[0].at, last);
}

#[tokio::test]
async fn an_event_that_cannot_be_read_is_a_failed_attempt_and_its_lane_moves_on() {
    let s = setup();
    s.ops_and_two_events(
        "re_1",
        ["evt_1", "refund.created"],
        ["evt_2", "refund.succeeded"],
    )
    .await;
    // Their maker held the events it read, and died before sending: once
    // its claims run out, the retry pass reads the event, and its store fails.
    for event in ["evt_1", "evt_2"] {
        deliveries::fan_out(&s.app, event)
            .await
            .expect("fanned out");
    }
    s.events.unreadable("evt_1");
    s.t.clock.advance(deliveries::CLAIM);
    let t1 = s.now();
    assert_eq!(s.retry().await, 1);
    let first = s.delivery("ops", "evt_1");
    assert_eq!(first.status, DeliveryStatus::Pending);
    assert_eq!(first.attempts.len(), 1);
    assert_eq!(first.attempts[0].status_code(), None);
    assert_eq!(first.attempts[0].error(), Some(NoAnswer::EventUnavailable));
    assert!(!first.sending, "the claim is given back");
    assert_eq!(first.next_attempt_at, Some(t1 + Duration::seconds(1)));
    assert!(s.receiver.posts().is_empty(), "nothing was sent");
    // Retried with backoff like any failure, and given up after the window.
    let mut passes = 0;
    while s.delivery("ops", "evt_1").status == DeliveryStatus::Pending {
        let next = s.delivery("ops", "evt_1").next_attempt_at.expect("due");
        s.t.clock.advance((next - s.now()).max(Duration::ZERO));
        s.retry().await;
        passes += 1;
        assert!(passes < 40, "never gave up");
    }
    let first = s.delivery("ops", "evt_1");
    assert_eq!(first.status, DeliveryStatus::Failed);
    assert!(
        first
            .attempts
            .iter()
            .all(|a| a.error() == Some(NoAnswer::EventUnavailable))
    );
    let last = first.attempts.last().expect("attempts").at;
    assert_eq!(last - first.attempts[0].at, RETRY_WINDOW);
    // The next one of its lane went as soon as it was given up.
    assert_eq!(s.receiver.events(), ["evt_2"]);
    assert_eq!(s.delivery("ops", "evt_2").status, DeliveryStatus::Succeeded);
}

#[tokio::test]
async fn without_endpoints_an_event_is_not_even_read() {
    let s = setup();
    // Never stored: reading it would fail the record.
    let none = deliveries::fan_out(&s.app, "evt_unknown").await;
    assert!(none.expect("nothing to do").is_empty());
    s.endpoint("ops", &["*"]).await;
    assert!(deliveries::fan_out(&s.app, "evt_unknown").await.is_err());
}

#[tokio::test]
async fn nothing_is_sent_to_a_deleted_endpoint() {
    let s = setup();
    s.endpoint("ops", &["*"]).await;
    s.receiver
        .answer("https://ops.example.com/hooks", vec![Ok(500)]);
    s.event("evt_1", "payable.paid", "order:1", s.now());
    s.dispatch("evt_1").await;
    webhook_endpoints::delete(&s.app, &EndpointId::parse("ops").expect("id"))
        .await
        .expect("deleted");
    let left = s.delivery("ops", "evt_1");
    s.t.clock.advance(Duration::seconds(5));
    assert_eq!(s.retry().await, 0);
    assert_eq!(s.receiver.posts().len(), 1);
    // The pass reads only endpoints that exist: it does not even pick what
    // was left for a deleted one (storage lets it go with its retention),
    // and nobody can list it.
    assert_eq!(s.delivery("ops", "evt_1"), left);
    let listed =
        webhook_endpoints::deliveries(&s.app, &left.endpoint_id, &PageRequest::first(10)).await;
    assert!(matches!(listed, Err(AppError::NotFound(_))), "{listed:?}");
}

#[tokio::test]
async fn a_delivery_being_sent_is_not_sent_again_until_its_claim_runs_out() {
    let s = setup();
    s.endpoint("ops", &["*"]).await;
    s.event("evt_1", "payment.created", "pay_1", s.now());
    let created = deliveries::fan_out(&s.app, "evt_1").await.expect("fan out");
    // Made claimed by its maker: the retry pass leaves it to it.
    assert_eq!(s.retry().await, 0);
    // The maker died; when its claim ran out, another sender took it and
    // is still sending.
    s.t.clock.advance(deliveries::CLAIM);
    let mut taken = created[0].delivery.claimed(s.now() + deliveries::CLAIM);
    s.app
        .webhooks
        .deliveries
        .save_delivery(&mut taken)
        .await
        .expect("claimed");
    // The record handed over again finds it in the other sender's hands.
    assert_eq!(s.dispatch("evt_1").await, 0);
    assert_eq!(s.retry().await, 0);
    // That sender died too: when its claim runs out, the delivery is due again.
    s.t.clock.advance(deliveries::CLAIM);
    assert_eq!(s.retry().await, 1);
    assert_eq!(s.delivery("ops", "evt_1").status, DeliveryStatus::Succeeded);
}

#[tokio::test]
async fn replacing_an_endpoint_keeps_its_secret() {
    let s = setup();
    let first = s.endpoint("ops", &["*"]).await;
    let replaced = webhook_endpoints::put(
        &s.app,
        first.id().clone(),
        EndpointUrl::parse("https://elsewhere.example.com/", false).expect("url"),
        EnabledEvents::All,
    )
    .await
    .expect("replaced");
    assert!(!replaced.created);
    assert_eq!(
        replaced.endpoint.secret().expose_secret(),
        first.secret().expose_secret()
    );
    assert_eq!(
        replaced.endpoint.url().as_str(),
        "https://elsewhere.example.com/"
    );
}

#[tokio::test]
async fn an_endpoint_made_again_under_a_deleted_ones_id_gets_nothing_of_the_old_one() {
    let s = setup();
    s.endpoint("ops", &["*"]).await;
    s.receiver
        .answer("https://ops.example.com/hooks", vec![Ok(500)]);
    s.event("evt_old", "payment.created", "pay_1", s.now());
    s.dispatch("evt_old").await;
    let id = EndpointId::parse("ops").expect("id");
    webhook_endpoints::delete(&s.app, &id)
        .await
        .expect("deleted");
    // Later than any clock skew between functions.
    s.t.clock.advance(Duration::seconds(2));
    s.endpoint("ops", &["*"]).await;
    s.t.clock.advance(Duration::seconds(1));

    assert_eq!(s.retry().await, 0);
    assert_eq!(
        s.receiver.posts().len(),
        1,
        "only the old endpoint's first attempt"
    );
    assert_eq!(s.delivery("ops", "evt_old").status, DeliveryStatus::Failed);
    let listed = webhook_endpoints::deliveries(&s.app, &id, &PageRequest::first(10))
        .await
        .expect("listed");
    assert!(listed.items.is_empty(), "{:?}", listed.items);
}

#[tokio::test]
async fn deliveries_are_shown_for_thirty_days() {
    let s = setup();
    s.endpoint("ops", &["*"]).await;
    s.event("evt_1", "payment.created", "pay_1", s.now());
    s.dispatch("evt_1").await;
    let id = EndpointId::parse("ops").expect("id");
    let shown = |s: &Setup| {
        let app = s.app.clone();
        let id = id.clone();
        async move {
            webhook_endpoints::deliveries(&app, &id, &PageRequest::first(10))
                .await
                .expect("listed")
                .items
                .len()
        }
    };
    s.t.clock.advance(Duration::days(30) - Duration::seconds(1));
    assert_eq!(shown(&s).await, 1);
    s.t.clock.advance(Duration::seconds(1));
    assert_eq!(shown(&s).await, 0);
}

#[tokio::test]
async fn a_dead_endpoint_with_a_backlog_does_not_hold_back_another_endpoints_retries() {
    let s = setup();
    s.endpoint("dead", &["*"]).await;
    s.endpoint("alive", &["*"]).await;
    s.receiver
        .answer("https://dead.example.com/hooks", vec![Ok(500); 1000]);
    s.t.clock.advance(Duration::hours(2));
    // The dead endpoint's are all due long before the live one's.
    s.due_backlog(
        "dead",
        3 * deliveries::RETRY_BATCH,
        s.now() - Duration::hours(1),
    )
    .await;
    s.due_backlog("alive", 1, s.now()).await;

    assert_eq!(s.retry().await, deliveries::RETRY_BATCH);
    assert_eq!(s.posts_to("alive"), 1, "in the first pass");
    assert_eq!(s.posts_to("dead"), deliveries::RETRY_BATCH - 1);
    assert_eq!(
        s.delivery("alive", "evt_alive_0").status,
        DeliveryStatus::Succeeded
    );
}

#[tokio::test]
async fn endpoints_with_backlogs_share_a_pass_and_a_quiet_ones_few_go_too() {
    let s = setup();
    for id in ["dead", "busy", "quiet"] {
        s.endpoint(id, &["*"]).await;
    }
    s.receiver
        .answer("https://dead.example.com/hooks", vec![Ok(500); 1000]);
    s.t.clock.advance(Duration::hours(2));
    let early = s.now() - Duration::hours(1);
    s.due_backlog("dead", 200, early).await;
    s.due_backlog("busy", 200, early + Duration::minutes(1))
        .await;
    s.due_backlog("quiet", 2, s.now() - Duration::seconds(1))
        .await;

    assert_eq!(s.retry().await, deliveries::RETRY_BATCH);
    let (dead, busy) = (s.posts_to("dead"), s.posts_to("busy"));
    assert_eq!(s.posts_to("quiet"), 2);
    assert_eq!(dead + busy, deliveries::RETRY_BATCH - 2);
    assert!(dead.abs_diff(busy) <= 1, "dead {dead}, busy {busy}");
    // Each backlog's soonest went first.
    assert_eq!(
        s.delivery("busy", "evt_busy_0").status,
        DeliveryStatus::Succeeded
    );
    assert!(s.delivery("busy", "evt_busy_199").attempts.is_empty());
}

#[tokio::test]
async fn what_quiet_endpoints_leave_of_a_pass_goes_to_a_backlog() {
    let s = setup();
    for id in ["backlog", "quiet", "idle"] {
        s.endpoint(id, &["*"]).await;
    }
    s.t.clock.advance(Duration::hours(2));
    s.due_backlog("backlog", 150, s.now() - Duration::minutes(10))
        .await;
    s.due_backlog("quiet", 1, s.now()).await;

    assert_eq!(s.retry().await, deliveries::RETRY_BATCH);
    assert_eq!(s.posts_to("quiet"), 1);
    assert_eq!(s.posts_to("backlog"), deliveries::RETRY_BATCH - 1);
    // The rest in the next pass.
    assert_eq!(s.retry().await, 150 - (deliveries::RETRY_BATCH - 1));
    assert_eq!(s.retry().await, 0);
}
