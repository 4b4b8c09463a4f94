//! Payments recorded directly against an order: offline methods, by the payer,
//! staff or a trusted backend.

use super::AppError;
use super::intents;
use super::retry::Attempts;
use crate::app::App;
use crate::auth::{Actor, Caller, Role};
use crate::domain::{
    MAX_PENDING_PAYMENTS, Money, Payable, PayableId, PayableKind, PayableRef, PayableStatus,
    Payment, PaymentId, PaymentMethod, PaymentStatus, RequestKey, StatedAmount,
};
use crate::ports::{Page, PageRequest, RecordOutcome, StoreError};

pub(crate) const ORDER: &str = "Order";
const PAYMENT: &str = "Payment";

impl Actor {
    /// Only staff and trusted backends decide that money arrived (or did not).
    fn may_settle(&self) -> bool {
        match self {
            Self::Service(_) => true,
            Self::Person(c) => c.has(Role::Admin) || c.has(Role::Staff),
        }
    }

    fn sees_every_payment(&self) -> bool {
        match self {
            Self::Service(_) => true,
            Self::Person(c) => c.has(Role::Admin) || c.has(Role::Staff) || c.has(Role::Support),
        }
    }

    /// Recording writes against the order: its owner, staff or a backend may;
    /// Support only reads, so a pending payment of theirs cannot lock someone's order.
    fn may_record_on(&self, payable: &Payable) -> bool {
        self.owns(payable) || self.may_settle()
    }

    fn owns(&self, payable: &Payable) -> bool {
        matches!(self, Self::Person(c) if payable.is_owned_by(&c.user_id))
    }
}

pub fn order_ref(id: &str) -> Result<PayableRef, AppError> {
    let id = PayableId::parse(id).map_err(|_| AppError::NotFound(ORDER.into()))?;
    Ok(PayableRef {
        kind: PayableKind::Order,
        id,
    })
}

/// The order if the actor may see it; anyone else's answers 404.
async fn visible_order(app: &App, actor: &Actor, order: &PayableRef) -> Result<Payable, AppError> {
    match app.payables.get_payable(order).await? {
        Some(p) if actor.owns(&p) || actor.sees_every_payment() => Ok(p),
        _ => Err(AppError::NotFound(ORDER.into())),
    }
}

/// Records a payment against an order. PENDING is anyone's (an offline payment
/// awaiting confirmation); COMPLETED and FAILED only staff's or a backend's.
pub async fn record(
    app: &App,
    actor: &Actor,
    order: &PayableRef,
    amount: StatedAmount,
    method: PaymentMethod,
    status: PaymentStatus,
) -> Result<Payment, AppError> {
    record_under(app, actor, None, order, amount, method, status).await
}

/// [`record`], under the caller's Idempotency-Key when one was sent: the payment
/// is named from the key, so however often the request runs (a retry after a
/// lost answer, a takeover of a crashed run) there is one payment, and every
/// run answers with it.
pub async fn record_under(
    app: &App,
    actor: &Actor,
    key: Option<&RequestKey>,
    order: &PayableRef,
    amount: StatedAmount,
    method: PaymentMethod,
    status: PaymentStatus,
) -> Result<Payment, AppError> {
    let named = key.map(RequestKey::payment_id);
    match status {
        PaymentStatus::Pending => {}
        PaymentStatus::Completed | PaymentStatus::Failed if actor.may_settle() => {}
        PaymentStatus::Completed | PaymentStatus::Failed => {
            return Err(AppError::Forbidden(format!(
                "Only staff or the payment system may record a {} payment",
                status.as_str()
            )));
        }
        PaymentStatus::Cancelled | PaymentStatus::Refunded => {
            return Err(AppError::StatusNotRecordable);
        }
    }
    let mut attempts = Attempts::new();
    loop {
        attempts.next()?;
        if let Some(existing) = already_recorded(app, named).await? {
            return same_request(existing, order, amount, method);
        }
        let payable = visible_order(app, actor, order).await?;
        if !actor.may_record_on(&payable) {
            return Err(AppError::Forbidden(
                "Support may read payments but not record them".into(),
            ));
        }
        let money =
            Money::from_stated(&amount, payable.amount().currency()).map_err(AppError::Amount)?;
        let mut payment = Payment::against(
            &payable,
            money,
            method,
            status,
            &app.config.fees,
            app.clock.now(),
        );
        if let Some(id) = named {
            payment.name(id);
        }
        if payment.counts_toward_total() {
            // An intent its payer abandoned no longer holds the order: this write
            // is the one that meets it, so it stores it canceled and looks again.
            if let Some(held_by) = payable.open_intent_id() {
                if intents::expire_abandoned(app, held_by).await? {
                    continue;
                }
            }
            ensure_collectable(&payable)?;
            // The write below counts pending payments under the same cap, so
            // racing payments that all pass this check still stop at it.
            if status == PaymentStatus::Pending && !payable.has_room_for_pending() {
                return Err(AppError::TooManyPending {
                    noun: ORDER.into(),
                    limit: MAX_PENDING_PAYMENTS,
                });
            }
            payable.accepts(&money).map_err(AppError::AmountRefused)?;
        }
        match app.payments.record_payment(&payment, &payable).await? {
            RecordOutcome::Recorded => {
                tracing::info!(payment = %payment.id(), status = status.as_str(), "payment recorded");
                return Ok(payment);
            }
            // An earlier run under this key won (a racing retry): answer with its payment.
            RecordOutcome::AlreadyRecorded => {
                let existing = already_recorded(app, Some(payment.id()))
                    .await?
                    .ok_or(StoreError::Conflict)?;
                return same_request(existing, order, amount, method);
            }
            // Another payment, an intent, a re-price or a change of business got
            // there first: look again.
            RecordOutcome::PayableChanged => continue,
        }
    }
}

/// The payment an earlier run under the same Idempotency-Key recorded, if any.
async fn already_recorded(
    app: &App,
    named: Option<PaymentId>,
) -> Result<Option<Payment>, AppError> {
    let Some(id) = named else {
        return Ok(None);
    };
    let existing = app.payments.get_payment(&id).await?;
    if let Some(p) = &existing {
        tracing::info!(payment = %p.id(), "payment already recorded under this key");
    }
    Ok(existing)
}

/// The payment a key recorded answers only the request that recorded it: once
/// the key's ledger entry has expired, the same key may come with another order
/// or amount. Its status is not compared, as staff may have completed it since.
fn same_request(
    existing: Payment,
    order: &PayableRef,
    amount: StatedAmount,
    method: PaymentMethod,
) -> Result<Payment, AppError> {
    let same = existing.payable().as_ref() == Some(order)
        && existing.method() == method
        && Money::from_stated(&amount, existing.amount().currency())
            .is_ok_and(|a| a == existing.amount());
    if same {
        Ok(existing)
    } else {
        Err(AppError::KeyReused)
    }
}

fn ensure_collectable(payable: &Payable) -> Result<(), AppError> {
    if payable.status() != PayableStatus::Open {
        return Err(AppError::payable_not_open(ORDER, payable.status()));
    }
    if let Some(intent) = payable.open_intent_id() {
        return Err(AppError::PayableLocked(format!(
            "Order has an open payment intent ({intent}); cancel it or complete it first"
        )));
    }
    Ok(())
}

/// What a caller is told of a payment they may not see, or of none.
pub fn payment_not_found() -> AppError {
    AppError::NotFound(PAYMENT.into())
}

pub async fn get(app: &App, actor: &Actor, id: &PaymentId) -> Result<Payment, AppError> {
    let payment = app
        .payments
        .get_payment(id)
        .await?
        .ok_or_else(payment_not_found)?;
    let own = matches!(actor, Actor::Person(c) if &c.user_id == payment.payer_user_id());
    if own || actor.sees_every_payment() {
        Ok(payment)
    } else {
        Err(payment_not_found())
    }
}

pub async fn list_mine(
    app: &App,
    caller: &Caller,
    limit: usize,
    offset: usize,
) -> Result<Vec<Payment>, AppError> {
    Ok(app
        .payments
        .list_payments_by_user(&caller.user_id, limit, offset)
        .await?)
}

pub async fn list_for_order(
    app: &App,
    actor: &Actor,
    order: &PayableRef,
    page: &PageRequest,
) -> Result<Page<Payment>, AppError> {
    visible_order(app, actor, order).await?;
    Ok(app.payments.list_payments_by_payable(order, page).await?)
}
