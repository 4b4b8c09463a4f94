//! The refund pass on memory: a refund a gateway fault left unsent is
//! finished once, by asking again under its key while the gateway still
//! knows it, and by looking for it after.

use time::Duration;

use super::TestApp;
use super::refunds::{
    Scripted, ask, card_payment, refund, staff, stored_payment, stored_refund, unavailable,
};
use crate::adapters::faulty::Fault;
use crate::app::AppError;
use crate::app::events;
use crate::app::unsent_refunds::{GRACE, PassReport, finish_unsent};
use crate::domain::{Payment, PaymentStatus, Refund, RefundStatus};
use crate::ports::{EventFilter, GatewayError, PageRequest};

const DAY: Duration = Duration::hours(24);

fn timed_out() -> Result<crate::ports::GatewayRefund, GatewayError> {
    Err(GatewayError::TimedOut(
        "injected: the answer was lost".into(),
    ))
}

/// A card payment of 50.00 and a full refund of it that the gateway's
/// first scripted answer left unsent (the gateway forgets keys after
/// `key_lifetime`).
async fn left_unsent(
    key_lifetime: Option<Duration>,
    answers: Vec<Result<crate::ports::GatewayRefund, GatewayError>>,
) -> (TestApp, std::sync::Arc<Scripted>, Payment, Refund) {
    let mut t = TestApp::new();
    let gateway = Scripted::install_forgetting(&mut t, answers, key_lifetime);
    let (_, _, payment) = card_payment(&t).await;
    let err = refund(&t, &staff(), None, &payment, ask(None))
        .await
        .expect_err("the gateway's answer never came");
    assert!(matches!(err, AppError::Gateway(_)), "{err:?}");
    let listed = crate::app::refunds::list(
        &t.app,
        &super::refunds::service(),
        &payment.id(),
        &PageRequest::first(10),
    )
    .await
    .expect("list");
    let unsent = listed.items.into_iter().next().expect("the refund is kept");
    assert!(unsent.is_unsent(), "{unsent:?}");
    (t, gateway, payment, unsent)
}

async fn pass(t: &TestApp) -> PassReport {
    finish_unsent(&t.app).await.expect("a pass")
}

async fn refund_events(t: &TestApp, refund: &Refund) -> Vec<&'static str> {
    let filter = EventFilter {
        kind: None,
        object_id: Some(refund.id().to_string()),
    };
    events::list(&t.app, &filter, &PageRequest::first(100))
        .await
        .expect("events")
        .items
        .iter()
        .map(|e| e.kind.as_str())
        .collect()
}

#[tokio::test]
async fn an_unsent_refund_is_asked_again_under_its_key_and_finished_once() {
    let (t, gateway, payment, unsent) = left_unsent(Some(DAY), vec![unavailable()]).await;
    // Its own request may still be waiting on the gateway: not yet.
    assert_eq!(pass(&t).await, PassReport::default());
    assert_eq!(gateway.asked().len(), 1);

    t.clock.advance(GRACE + Duration::seconds(1));
    assert_eq!(
        pass(&t).await,
        PassReport {
            finished: 1,
            left: 0
        }
    );
    let done = stored_refund(&t, &unsent).await;
    assert_eq!(done.status(), RefundStatus::Succeeded);
    let made = gateway.made();
    assert_eq!(made.len(), 1, "one refund at the gateway");
    assert_eq!(done.gateway_refund_id().as_ref(), Some(&made[0].id));
    let asked = gateway.asked();
    assert_eq!(asked.len(), 2);
    assert!(
        asked.iter().all(|r| r.id() == unsent.id()),
        "the same refund"
    );
    let read = stored_payment(&t, &payment).await;
    assert_eq!(
        (
            read.status(),
            read.refunded_minor(),
            read.refund_held_minor()
        ),
        (PaymentStatus::Refunded, 5_000, 5_000)
    );
    assert_eq!(
        refund_events(&t, &unsent).await,
        ["refund.succeeded", "refund.created"]
    );

    // Finished: the next pass has nothing to do.
    t.clock.advance(Duration::minutes(5));
    assert_eq!(pass(&t).await, PassReport::default());
    assert_eq!(gateway.asked().len(), 2);
}

#[tokio::test]
async fn a_lost_answer_asked_again_names_the_refund_the_gateway_made() {
    let (t, gateway, _, unsent) = left_unsent(Some(DAY), vec![timed_out()]).await;
    assert_eq!(gateway.made().len(), 1, "made, though the answer was lost");
    t.clock.advance(Duration::minutes(2));
    assert_eq!(pass(&t).await.finished, 1);
    let made = gateway.made();
    assert_eq!(made.len(), 1, "asked again under its key: the same refund");
    let done = stored_refund(&t, &unsent).await;
    assert_eq!(done.gateway_refund_id().as_ref(), Some(&made[0].id));
}

#[tokio::test]
async fn a_gateway_still_failing_leaves_the_refund_to_the_next_pass() {
    let (t, gateway, payment, unsent) =
        left_unsent(Some(DAY), vec![unavailable(), unavailable()]).await;
    t.clock.advance(Duration::minutes(2));
    assert_eq!(
        pass(&t).await,
        PassReport {
            finished: 0,
            left: 1
        }
    );
    assert!(stored_refund(&t, &unsent).await.is_unsent());
    // Still held meanwhile: nobody refunds that money twice.
    let err = refund(&t, &staff(), None, &payment, ask(Some(1)))
        .await
        .expect_err("held");
    assert!(matches!(err, AppError::Refund(_)), "{err:?}");

    t.clock.advance(Duration::minutes(1));
    assert_eq!(pass(&t).await.finished, 1);
    assert_eq!(
        stored_refund(&t, &unsent).await.status(),
        RefundStatus::Succeeded
    );
    assert_eq!(gateway.made().len(), 1);
}

#[tokio::test]
async fn once_the_gateway_may_have_forgotten_the_key_the_pass_looks_instead_of_asking() {
    let (t, gateway, payment, unsent) = left_unsent(Some(DAY), vec![timed_out()]).await;
    t.clock.advance(DAY);
    assert_eq!(pass(&t).await.finished, 1);
    assert_eq!(
        gateway.asked().len(),
        1,
        "never asked again: it could refund twice"
    );
    let made = gateway.made();
    assert_eq!(made.len(), 1);
    let done = stored_refund(&t, &unsent).await;
    assert_eq!(done.status(), RefundStatus::Succeeded);
    assert_eq!(done.gateway_refund_id().as_ref(), Some(&made[0].id));
    assert_eq!(
        stored_payment(&t, &payment).await.status(),
        PaymentStatus::Refunded
    );
}

#[tokio::test]
async fn a_refund_the_gateway_never_made_fails_once_its_key_may_be_forgotten() {
    let (t, gateway, payment, unsent) = left_unsent(Some(DAY), vec![unavailable()]).await;
    // An hour before the gateway forgets, the pass already looks.
    t.clock.advance(DAY - Duration::minutes(59));
    assert_eq!(pass(&t).await.finished, 1);
    assert_eq!(gateway.asked().len(), 1);
    assert!(gateway.made().is_empty());
    let failed = stored_refund(&t, &unsent).await;
    assert_eq!(failed.status(), RefundStatus::Failed);
    let read = stored_payment(&t, &payment).await;
    assert_eq!(
        (
            read.status(),
            read.refunded_minor(),
            read.refund_held_minor()
        ),
        (PaymentStatus::Completed, 0, 0)
    );
    assert_eq!(
        refund_events(&t, &unsent).await,
        ["refund.failed", "refund.created"]
    );
    // Its amount may be refunded again.
    let again = refund(&t, &staff(), None, &payment, ask(None))
        .await
        .expect("refundable again");
    assert_eq!(again.status(), RefundStatus::Succeeded);
}

#[tokio::test]
async fn a_gateway_that_never_forgets_is_always_asked_again() {
    let (t, gateway, _, unsent) = left_unsent(None, vec![unavailable()]).await;
    t.clock.advance(DAY * 3);
    assert_eq!(pass(&t).await.finished, 1);
    assert_eq!(gateway.asked().len(), 2);
    assert_eq!(
        stored_refund(&t, &unsent).await.status(),
        RefundStatus::Succeeded
    );
}

#[tokio::test]
async fn a_pass_whose_write_answer_was_lost_finishes_the_refund_once() {
    let mut t = TestApp::with_faults(vec![Fault::LoseAnswer {
        op: "update_refund",
        nth: 1,
    }]);
    let gateway = Scripted::install_forgetting(&mut t, vec![unavailable()], Some(DAY));
    let (_, _, payment) = card_payment(&t).await;
    refund(&t, &staff(), None, &payment, ask(None))
        .await
        .expect_err("the gateway's answer never came");
    t.clock.advance(Duration::minutes(2));
    // The pass asked, the gateway made it, the store wrote it: only its
    // answer was lost.
    assert_eq!(
        pass(&t).await,
        PassReport {
            finished: 0,
            left: 1
        }
    );
    t.clock.advance(Duration::minutes(5));
    assert_eq!(pass(&t).await, PassReport::default(), "nothing left");
    assert_eq!(gateway.made().len(), 1);
    let read = stored_payment(&t, &payment).await;
    assert_eq!(
        (
            read.status(),
            read.refunded_minor(),
            read.refund_held_minor()
        ),
        (PaymentStatus::Refunded, 5_000, 5_000),
        "refunded once"
    );
}
