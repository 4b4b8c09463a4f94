//! Refunds: money given back on a completed payment, through the gateway that
//! collected it, or recorded as given back by staff when the money moved
//! outside any gateway (cash, a bank transfer, a code confirmed by email).
//!
//! A refund is reserved first (its amount held against what the payment may
//! still give back), then asked of the gateway, then its outcome stored; only
//! a success counts as refunded. A crash or a gateway fault in between leaves
//! it pending and the request answers with an error: the retry under the same
//! Idempotency-Key names the same refund, which the gateway acts on once, and
//! without a retry the refund pass (`unsent_refunds`) finishes it.

use std::sync::Arc;

use super::AppError;
use super::retry::Attempts;
use crate::app::App;
use crate::auth::Actor;
use crate::auth::Role;
use crate::domain::{
    GatewayId, Payment, PaymentId, PaymentIntent, Refund, RefundId, RefundStatus, RequestKey,
};
use crate::ports::{
    Gateway, GatewayError, GatewayRefund, Page, PageRequest, RefundOutcome, StoreError,
};

const PAYMENT: &str = "Payment";

/// What a caller is told of a payment that is not there to refund, or of no payment.
pub fn not_found() -> AppError {
    AppError::NotFound(PAYMENT.into())
}

/// What the caller asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefundRequest {
    /// In minor units of the payment's currency; all that remains when none.
    pub amount_minor: Option<i64>,
    pub reason: Option<String>,
}

/// Only staff who handle money and the operator's backend give it back.
/// Checked before anything about the payment, so a caller who may not
/// refund learns nothing of it, not even whether its id could be one.
pub fn may_refund(actor: &Actor) -> Result<(), AppError> {
    match actor {
        Actor::Service(_) => Ok(()),
        Actor::Person(c) if c.has(Role::Admin) || c.has(Role::Staff) => Ok(()),
        Actor::Person(_) => Err(AppError::Forbidden(
            "Only Admin or Staff, or the payment system, may refund a payment".into(),
        )),
    }
}

/// Who may read a payment's refunds; checked first, as `may_refund`.
pub fn may_read(actor: &Actor) -> Result<(), AppError> {
    match actor {
        Actor::Service(_) => Ok(()),
        Actor::Person(c) if c.has(Role::Admin) || c.has(Role::Staff) || c.has(Role::Support) => {
            Ok(())
        }
        Actor::Person(_) => Err(AppError::Forbidden(
            "Only Admin, Support or Staff, or the payment system, may read refunds".into(),
        )),
    }
}

/// Refunds the payment `payment` as `request` asks, under the caller's
/// Idempotency-Key when one was sent: the refund is named from the key, so
/// however often the request runs there is one refund, and the gateway is
/// asked for it under one key of its own.
pub async fn create(
    app: &App,
    actor: &Actor,
    key: Option<&RequestKey>,
    payment: &PaymentId,
    request: &RefundRequest,
) -> Result<Refund, AppError> {
    may_refund(actor)?;
    let payment_id = *payment;
    let named = key.map(RequestKey::refund_id);
    let mut attempts = Attempts::new();
    let (refund, collected) = loop {
        attempts.next()?;
        if let Some(existing) = already_made(app, named).await? {
            break (same_request(existing, payment_id, request)?, None);
        }
        let payment = app
            .payments
            .get_payment(&payment_id)
            .await?
            .ok_or_else(not_found)?;
        let amount = payment.refundable(request.amount_minor)?;
        let collector = collecting_intent(app, &payment).await?;
        let refund = Refund::of(
            named.unwrap_or_default(),
            &payment,
            amount,
            request.reason.clone(),
            collector.as_ref().map(|i| i.gateway()),
            app.clock.now(),
        );
        match app.refunds.create_refund(&refund, &payment).await? {
            RefundOutcome::Created => {
                tracing::info!(refund = %refund.id(), payment = %payment.id(), status = refund.status().as_str(), "refund made");
                break (refund, collector.map(|intent| (payment, intent)));
            }
            // Another refund or this very one (a racing retry) got there
            // first: look again.
            RefundOutcome::AlreadyExists | RefundOutcome::PaymentChanged => continue,
        }
    };
    // Once the gateway has named the refund it is the gateway's to report
    // on: asking again, after its own idempotency has lapsed, could refund twice.
    if !refund.is_unsent() {
        return Ok(refund);
    }
    let (payment, intent) = match collected {
        Some(both) => both,
        None => collected_by(app, &refund).await?,
    };
    at_gateway(app, refund, &intent, payment).await
}

/// The refund an earlier run under the same Idempotency-Key made, if any.
async fn already_made(app: &App, named: Option<RefundId>) -> Result<Option<Refund>, AppError> {
    let Some(id) = named else {
        return Ok(None);
    };
    let existing = app.refunds.get_refund(&id).await?;
    if let Some(r) = &existing {
        tracing::info!(refund = %r.id(), "refund already made under this key");
    }
    Ok(existing)
}

/// The refund a key made answers only the request that made it: once the
/// key's ledger entry has expired, the same key may come with another
/// payment or amount.
fn same_request(
    existing: Refund,
    payment: PaymentId,
    request: &RefundRequest,
) -> Result<Refund, AppError> {
    let same = existing.payment_id() == payment
        && request
            .amount_minor
            .is_none_or(|a| a == existing.amount().minor())
        && request.reason == *existing.reason();
    if same {
        Ok(existing)
    } else {
        Err(AppError::KeyReused)
    }
}

/// The intent whose gateway collected `payment`, which gives the money back;
/// none when the money moved outside any gateway.
async fn collecting_intent(
    app: &App,
    payment: &Payment,
) -> Result<Option<PaymentIntent>, AppError> {
    let Some(intent_id) = payment.intent_id() else {
        return Ok(None);
    };
    Ok(app
        .intents
        .get_intent(&intent_id)
        .await?
        // A code mailed to the payer confirms a payment; the money itself moved elsewhere.
        .filter(|i| i.gateway() != GatewayId::Otp && payment.collected_by(i)))
}

/// The payment `refund` gives back: a payment gone meanwhile loses the race.
async fn payment_of(app: &App, refund: &Refund) -> Result<Payment, AppError> {
    let payment = app.payments.get_payment(&refund.payment_id()).await?;
    Ok(payment.ok_or(StoreError::Conflict)?)
}

/// The payment a pending refund gives back, and the intent whose gateway is
/// to be asked for it.
pub(super) async fn collected_by(
    app: &App,
    refund: &Refund,
) -> Result<(Payment, PaymentIntent), AppError> {
    let payment = payment_of(app, refund).await?;
    let intent = collecting_intent(app, &payment).await?.ok_or_else(|| {
        StoreError::Corrupt(format!(
            "refund {} waits for a gateway, but its payment was not collected by one",
            refund.id()
        ))
    })?;
    Ok((payment, intent))
}

/// The connector of the gateway that collected `intent`.
pub(super) fn connector_of(
    app: &App,
    intent: &PaymentIntent,
) -> Result<Arc<dyn Gateway>, GatewayError> {
    app.gateways.get(intent.gateway()).cloned().ok_or_else(|| {
        GatewayError::Unavailable(format!(
            "the {} gateway is not configured here",
            intent.gateway().as_str()
        ))
    })
}

/// Asks the gateway to give `refund` back, and stores what it answered (of
/// `payment` as read). A refusal is an outcome (the refund failed, its
/// amount refundable again); a fault leaves it pending for the retry, or
/// the refund pass.
async fn at_gateway(
    app: &App,
    refund: Refund,
    intent: &PaymentIntent,
    payment: Payment,
) -> Result<Refund, AppError> {
    let connector = connector_of(app, intent)?;
    let answer = connector.refund(intent, &refund).await;
    store_answer(app, refund, answer, payment).await
}

/// Stores what the gateway answered when asked for `refund` (of `payment`
/// as read): the refund it made, or its refusal (the refund failed); a fault
/// is returned with the refund left pending.
pub(super) async fn store_answer(
    app: &App,
    refund: Refund,
    answer: Result<GatewayRefund, GatewayError>,
    payment: Payment,
) -> Result<Refund, AppError> {
    let (status, gateway_refund_id) = match answer {
        Ok(done) => (done.status, Some(done.id)),
        Err(GatewayError::Refused(why)) => {
            tracing::warn!(refund = %refund.id(), %why, "the gateway refused the refund");
            (RefundStatus::Failed, None)
        }
        Err(e) => {
            tracing::warn!(refund = %refund.id(), error = %e, "refund left pending");
            return Err(e.into());
        }
    };
    let (refund, _) = settle(
        app,
        refund,
        status,
        gateway_refund_id.as_deref(),
        Some(payment),
    )
    .await?;
    Ok(refund)
}

/// Stores what the gateway reports of `refund`: its status and its own id
/// for it, with its effect on its payment (`payment` when the caller has
/// just read it). A report that moves nothing forward changes nothing; one
/// that lost a race is decided again on what is stored. True when it changed.
pub(crate) async fn settle(
    app: &App,
    mut refund: Refund,
    status: RefundStatus,
    gateway_refund_id: Option<&str>,
    mut payment: Option<Payment>,
) -> Result<(Refund, bool), AppError> {
    let mut attempts = Attempts::new();
    loop {
        attempts.next()?;
        let before = refund.clone();
        if !refund.report(status, gateway_refund_id, app.clock.now()) {
            return Ok((refund, false));
        }
        let read = match payment.take() {
            Some(p) => p,
            None => payment_of(app, &refund).await?,
        };
        match app.refunds.update_refund(&before, &refund, &read).await {
            Ok(()) => {
                tracing::info!(refund = %refund.id(), from = before.status().as_str(), status = refund.status().as_str(), "refund settled");
                return Ok((refund, true));
            }
            // The refund or its payment moved: both are read again.
            Err(StoreError::Conflict) => {
                refund = app
                    .refunds
                    .get_refund(&before.id())
                    .await?
                    .ok_or(StoreError::Conflict)?;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The payment's refunds, newest first: staff and the operator's backend.
pub async fn list(
    app: &App,
    actor: &Actor,
    payment: &PaymentId,
    page: &PageRequest,
) -> Result<Page<Refund>, AppError> {
    may_read(actor)?;
    let payment = app
        .payments
        .get_payment(payment)
        .await?
        .ok_or_else(not_found)?;
    Ok(app.refunds.list_refunds(&payment.id(), page).await?)
}
