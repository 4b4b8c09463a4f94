//! Payments recorded directly (surface B) and orders settled by the shop's
//! payment system (surface C).

use super::AppError;
use super::intents::{self, MAX_RETRIES};
use crate::auth::{Caller, Role, ServiceCaller};
use crate::domain::{
    GatewayId, IntentStatus, Money, Payable, PayableId, PayableKind, PayableRef, PayableStatus,
    Payment, PaymentId, PaymentIntent, PaymentMethod, PaymentStatus,
};
use crate::ports::store::RecordOutcome;
use crate::ports::{Expected, Page, StoreError};
use crate::runtime::App;

const ORDER: &str = "Order";
const PAYMENT: &str = "Payment";

/// Who is asking: a person with a token, or a backend with an API key.
pub enum Actor {
    Person(Caller),
    Service(ServiceCaller),
}

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
    match app.store.get_payable(order).await? {
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
    amount: &str,
    method: PaymentMethod,
    status: PaymentStatus,
) -> Result<Payment, AppError> {
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
            return Err(AppError::Invalid(
                "status must be PENDING, COMPLETED or FAILED when a payment is recorded".into(),
            ));
        }
    }
    for _ in 0..MAX_RETRIES {
        let payable = visible_order(app, actor, order).await?;
        let amount = Money::parse(amount, payable.amount.currency())
            .map_err(|e| AppError::Invalid(e.to_string()))?;
        let payment = Payment {
            id: PaymentId::new(),
            payable: Some(order.clone()),
            intent_id: None,
            payer_user_id: payable.owner.user_id.clone(),
            amount,
            method,
            status,
            transaction_id: None,
            fee_minor: 0,
            business_id: payable.business_id.clone(),
            created_at: app.clock.now(),
        };
        if payment.counts_toward_total() {
            ensure_collectable(&payable)?;
            payable
                .accepts(&amount)
                .map_err(|e| AppError::Invalid(e.0))?;
        }
        match app.store.record_payment(&payment, &payable).await? {
            RecordOutcome::Recorded => {
                if status == PaymentStatus::Completed {
                    app.store
                        .settle_if_covered(order, payment.created_at)
                        .await?;
                }
                tracing::info!(payment = %payment.id, status = status.as_str(), "payment recorded");
                return Ok(payment);
            }
            // Another payment, an intent or a re-price got there first: look again.
            RecordOutcome::PayableChanged => continue,
        }
    }
    Err(StoreError::Conflict.into())
}

fn ensure_collectable(payable: &Payable) -> Result<(), AppError> {
    if payable.status != PayableStatus::Open {
        return Err(AppError::payable_not_open(ORDER, payable.status));
    }
    if let Some(intent) = payable.open_intent_id {
        return Err(AppError::PayableLocked(format!(
            "Order has an open payment intent ({intent}); cancel it or complete it first"
        )));
    }
    Ok(())
}

pub async fn get(app: &App, actor: &Actor, id: &str) -> Result<Payment, AppError> {
    let id = PaymentId::parse(id).map_err(|_| AppError::NotFound(PAYMENT.into()))?;
    let payment = app
        .store
        .get_payment(&id)
        .await?
        .ok_or_else(|| AppError::NotFound(PAYMENT.into()))?;
    let own = matches!(actor, Actor::Person(c) if c.user_id == payment.payer_user_id);
    if own || actor.sees_every_payment() {
        Ok(payment)
    } else {
        Err(AppError::NotFound(PAYMENT.into()))
    }
}

pub async fn list_mine(
    app: &App,
    caller: &Caller,
    limit: usize,
    offset: usize,
) -> Result<Vec<Payment>, AppError> {
    Ok(app
        .store
        .list_payments_by_user(&caller.user_id, limit, offset)
        .await?)
}

pub async fn list_for_order(
    app: &App,
    actor: &Actor,
    order: &PayableRef,
    limit: usize,
    cursor: Option<&str>,
) -> Result<Page<Payment>, AppError> {
    visible_order(app, actor, order).await?;
    Ok(app
        .store
        .list_payments_by_payable(order, limit, cursor)
        .await?)
}

/// The order's card payment intent (gateway `test` until a Stripe connector exists):
/// the open one, or a new one. The bool is true when this call created it.
pub async fn shop_intent(
    app: &App,
    caller: &Caller,
    order: &PayableRef,
) -> Result<(PaymentIntent, bool), AppError> {
    intents::open_for_payable(app, caller, order, GatewayId::Test, ORDER).await
}

/// How an order ended up paid.
pub struct Settled {
    pub order: Payable,
    /// The intent that collected it, if one did.
    pub intent: Option<PaymentIntent>,
}

/// Marks an order paid for the shop's payment system: completes its open intent,
/// or its PENDING payments (recording a COMPLETED payment for any rest), or records
/// one COMPLETED payment for the whole. Calling it again changes nothing.
pub async fn mark_paid(app: &App, order: &PayableRef) -> Result<Settled, AppError> {
    for _ in 0..MAX_RETRIES {
        let payable = app
            .store
            .get_payable(order)
            .await?
            .ok_or_else(|| AppError::NotFound(ORDER.into()))?;
        match payable.status {
            PayableStatus::Paid => return Ok(settled(app, payable).await?),
            PayableStatus::Canceled => {
                return Err(AppError::payable_not_open(ORDER, payable.status));
            }
            PayableStatus::Open => {}
        }
        let now = app.clock.now();
        let outcome = if let Some(intent_id) = payable.open_intent_id {
            // Gone, or finished since the order was read: read the order again.
            let Some(mut intent) = app
                .store
                .get_intent(&intent_id)
                .await?
                .filter(|i| !i.status.is_terminal())
            else {
                continue;
            };
            let expected = Expected::of(&intent);
            if intent.status != IntentStatus::Processing {
                intent.transition(IntentStatus::Processing, now)?;
            }
            intent.transition(IntentStatus::Succeeded, now)?;
            let payment = Payment {
                id: PaymentId::new(),
                payable: Some(order.clone()),
                intent_id: Some(intent.id),
                payer_user_id: intent.payer.user_id.clone(),
                amount: intent.amount,
                method: PaymentMethod::Card,
                status: PaymentStatus::Completed,
                transaction_id: Some(
                    intent
                        .gateway_intent_id
                        .clone()
                        .unwrap_or_else(|| intent.id.to_string()),
                ),
                fee_minor: 0,
                business_id: intent.business_id.clone(),
                created_at: now,
            };
            app.store
                .finish_intent(&intent, expected, Some(&payment))
                .await
        } else {
            let page = app.store.list_payments_by_payable(order, 100, None).await?;
            let pending: Vec<Payment> = page
                .items
                .into_iter()
                .filter(|p| p.status == PaymentStatus::Pending)
                .collect();
            let rest = payable.unallocated_minor();
            let extra = if rest > 0 {
                Some(Payment {
                    id: PaymentId::new(),
                    payable: Some(order.clone()),
                    intent_id: None,
                    payer_user_id: payable.owner.user_id.clone(),
                    amount: Money::from_minor(rest, payable.amount.currency())
                        .map_err(|e| AppError::Invalid(e.to_string()))?,
                    method: PaymentMethod::Card,
                    status: PaymentStatus::Completed,
                    transaction_id: None,
                    fee_minor: 0,
                    business_id: payable.business_id.clone(),
                    created_at: now,
                })
            } else {
                None
            };
            app.store
                .complete_payable(&payable, &pending, extra.as_ref(), now)
                .await
        };
        match outcome {
            Ok(()) => {
                tracing::info!(order = %order, "order marked paid");
                let payable = app
                    .store
                    .get_payable(order)
                    .await?
                    .ok_or_else(|| AppError::NotFound(ORDER.into()))?;
                return Ok(settled(app, payable).await?);
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Conflict.into())
}

async fn settled(app: &App, order: Payable) -> Result<Settled, StoreError> {
    let page = app
        .store
        .list_intents_by_payable(&order.payable, 10, None)
        .await?;
    let intent = page
        .items
        .into_iter()
        .find(|i| i.status == IntentStatus::Succeeded);
    Ok(Settled { order, intent })
}
