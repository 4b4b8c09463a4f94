//! Rotating an endpoint's signing secret, on the in-memory adapter: while
//! the old secret lives, every delivery is signed by both.

use std::sync::{Arc, Mutex};

use secrecy::ExposeSecret;
use time::Duration;

use super::TestApp;
use crate::adapters::memory::MemoryWebhooks;
use crate::app::App;
use crate::app::{AppError, deliveries, webhook_endpoints};
use crate::domain::NoAnswer;
use crate::domain::{
    EnabledEvents, EndpointId, EndpointUrl, OldSecretLifetime, WebhookEndpoint, webhook_signature,
};
use crate::ports::{DeliveryPost, DeliverySender, OutgoingEvent, Webhooks};

/// Keeps every post and answers 200.
#[derive(Default)]
struct Receiver(Mutex<Vec<DeliveryPost>>);

#[async_trait::async_trait]
impl DeliverySender for Receiver {
    async fn post(&self, post: &DeliveryPost) -> Result<u16, NoAnswer> {
        self.0.lock().expect("posts").push(post.clone());
        Ok(200)
    }
}

struct Setup {
    t: TestApp,
    app: Arc<App>,
    store: Arc<MemoryWebhooks>,
    receiver: Arc<Receiver>,
}

fn setup() -> Setup {
    let t = TestApp::new();
    let store = Arc::new(MemoryWebhooks::new());
    let receiver = Arc::new(Receiver::default());
    let mut app = t.restarted().app;
    app.webhooks = Webhooks::sharing(store.clone(), store.clone(), receiver.clone());
    Setup {
        app: Arc::new(app),
        t,
        store,
        receiver,
    }
}

fn ops() -> EndpointId {
    EndpointId::parse("ops").expect("id")
}

fn lifetime(seconds: i64) -> OldSecretLifetime {
    OldSecretLifetime::parse(seconds).expect("lifetime")
}

fn secret(endpoint: &WebhookEndpoint) -> String {
    endpoint.secret().expose_secret().to_owned()
}

impl Setup {
    async fn endpoint(&self) -> WebhookEndpoint {
        webhook_endpoints::put(
            &self.app,
            ops(),
            EndpointUrl::parse("https://ops.example.com/hooks", false).expect("url"),
            EnabledEvents::All,
        )
        .await
        .expect("stored")
        .endpoint
    }

    /// An event about a new object, dispatched as the stream hands it over:
    /// the one post it makes.
    async fn deliver_an_event(&self, id: &str) -> DeliveryPost {
        let now = self.t.clock_now();
        let body = serde_json::json!({
            "id": id, "object": "event", "type": "payment.created",
            "created": now.unix_timestamp(), "data": {"object": {"id": format!("pay_{id}")}},
        });
        self.store.add_event(OutgoingEvent {
            id: id.into(),
            event_type: "payment.created".into(),
            object_id: format!("pay_{id}"),
            created: now,
            body: body.to_string().into_bytes(),
            follows: vec![],
        });
        let created = deliveries::fan_out(&self.app, id)
            .await
            .expect("fanned out");
        assert_eq!(deliveries::deliver(self.app.clone(), created).await, 1);
        self.receiver
            .0
            .lock()
            .expect("posts")
            .last()
            .cloned()
            .expect("posted")
    }
}

/// The `v1` signatures of a post's header, in order.
fn v1s(post: &DeliveryPost) -> Vec<String> {
    post.signature
        .split(',')
        .filter_map(|part| part.strip_prefix("v1="))
        .map(str::to_owned)
        .collect()
}

/// The one `v1` that `secret` makes for the post.
fn v1_of(secret: &str, post: &DeliveryPost) -> String {
    let t: i64 = post
        .signature
        .strip_prefix("t=")
        .and_then(|rest| rest.split(',').next())
        .and_then(|t| t.parse().ok())
        .expect("a signing time");
    let header = webhook_signature::sign(secret.as_bytes(), t, &post.body);
    header.split_once(",v1=").expect("v1").1.to_owned()
}

#[tokio::test]
async fn while_the_old_secret_lives_deliveries_carry_both_signatures_then_one() {
    let s = setup();
    let old = secret(&s.endpoint().await);
    s.t.clock.advance(Duration::seconds(5));

    let rotated = webhook_endpoints::rotate_secret(&s.app, &ops(), lifetime(3600))
        .await
        .expect("rotated");
    let new = secret(&rotated);
    assert!(new.starts_with("whsec_") && new != old, "{new}");
    assert_eq!(rotated.updated(), s.t.clock_now());
    let read = webhook_endpoints::get(&s.app, &ops()).await.expect("read");
    assert_eq!(secret(&read), new);

    let during = s.deliver_an_event("evt_during").await;
    assert_eq!(
        v1s(&during),
        [v1_of(&new, &during), v1_of(&old, &during)],
        "new first, then old"
    );
    for key in [&new, &old] {
        assert_eq!(
            webhook_signature::verify(
                key.as_bytes(),
                Some(&during.signature),
                &during.body,
                s.t.clock_now()
            ),
            Ok(())
        );
    }

    // The last second of the hour still carries both; its end, one.
    s.t.clock.advance(Duration::seconds(3599));
    assert_eq!(v1s(&s.deliver_an_event("evt_last").await).len(), 2);
    s.t.clock.advance(Duration::seconds(1));
    let after = s.deliver_an_event("evt_after").await;
    assert_eq!(v1s(&after), [v1_of(&new, &after)]);
    assert_eq!(
        webhook_signature::verify(
            old.as_bytes(),
            Some(&after.signature),
            &after.body,
            s.t.clock_now()
        ),
        Err(webhook_signature::SignatureError::Mismatch)
    );
}

#[tokio::test]
async fn by_default_the_old_secret_ends_at_once() {
    let s = setup();
    s.endpoint().await;
    let rotated = webhook_endpoints::rotate_secret(&s.app, &ops(), OldSecretLifetime::default())
        .await
        .expect("rotated");
    assert!(rotated.previous_secret().is_none());
    let post = s.deliver_an_event("evt_1").await;
    assert_eq!(v1s(&post), [v1_of(&secret(&rotated), &post)]);
}

#[tokio::test]
async fn a_replace_keeps_both_secrets() {
    let s = setup();
    let old = secret(&s.endpoint().await);
    let new = secret(
        &webhook_endpoints::rotate_secret(&s.app, &ops(), lifetime(600))
            .await
            .expect("rotated"),
    );
    let replaced = s.endpoint().await;
    assert_eq!(secret(&replaced), new);
    let post = s.deliver_an_event("evt_1").await;
    assert_eq!(v1s(&post), [v1_of(&new, &post), v1_of(&old, &post)]);
}

#[tokio::test]
async fn an_unknown_endpoint_is_not_found() {
    let s = setup();
    let missing = webhook_endpoints::rotate_secret(&s.app, &ops(), lifetime(60)).await;
    assert!(matches!(missing, Err(AppError::NotFound(_))), "{missing:?}");
    assert!(matches!(
        webhook_endpoints::get(&s.app, &ops()).await,
        Err(AppError::NotFound(_))
    ));
}

/// Two rotations at once: the later one retires the earlier one's secret,
/// so a receiver given either new secret verifies every delivery while the
/// overlap lasts.
#[tokio::test]
async fn rotations_at_once_lose_no_secret() {
    let s = setup();
    let original = secret(&s.endpoint().await);
    let id = ops();
    let (a, b) = tokio::join!(
        webhook_endpoints::rotate_secret(&s.app, &id, lifetime(600)),
        webhook_endpoints::rotate_secret(&s.app, &id, lifetime(600)),
    );
    let (a, b) = (a.expect("a"), b.expect("b"));
    let retired = |e: &WebhookEndpoint| {
        e.previous_secret()
            .as_ref()
            .map(|p| p.secret.expose_secret().to_owned())
    };
    let (earlier, later) = if retired(&a) == Some(original.clone()) {
        (a, b)
    } else {
        (b, a)
    };
    assert_eq!(retired(&earlier), Some(original));
    assert_eq!(retired(&later), Some(secret(&earlier)));
    let post = s.deliver_an_event("evt_1").await;
    assert_eq!(
        v1s(&post),
        [
            v1_of(&secret(&later), &post),
            v1_of(&secret(&earlier), &post)
        ]
    );
}
