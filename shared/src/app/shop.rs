//! Orders paid through the shop's payment system: the order's card payment
//! intent, and the call that marks an order paid.

use super::AppError;
use super::intents::{self, MAX_RETRIES};
use super::payments::ORDER;
use crate::auth::Caller;
use crate::domain::{
    GatewayId, IntentStatus, Money, Payable, PayableRef, PayableStatus, Payment, PaymentIntent,
    PaymentMethod, PaymentStatus,
};
use crate::ports::{Expected, StoreError};
use crate::runtime::App;

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
#[derive(Debug)]
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
            .payables
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
                .intents
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
            let transaction_id = intent
                .gateway_intent_id
                .clone()
                .unwrap_or_else(|| intent.id.to_string());
            let payment = Payment::for_intent(&intent, PaymentMethod::Card, transaction_id, now);
            app.intents
                .finish_intent(&intent, expected, Some(&payment))
                .await
        } else {
            let page = app
                .payments
                .list_payments_by_payable(order, 100, None)
                .await?;
            let pending: Vec<Payment> = page
                .items
                .into_iter()
                .filter(|p| p.status == PaymentStatus::Pending)
                .collect();
            let rest = payable.unallocated_minor();
            let extra = if rest > 0 {
                let rest = Money::from_minor(rest, payable.amount.currency())
                    .map_err(|e| AppError::Invalid(e.to_string()))?;
                Some(Payment::against(
                    &payable,
                    rest,
                    PaymentMethod::Card,
                    PaymentStatus::Completed,
                    now,
                ))
            } else {
                None
            };
            app.payables
                .complete_payable(&payable, &pending, extra.as_ref(), now)
                .await
        };
        match outcome {
            Ok(()) => {
                tracing::info!(order = %order, "order marked paid");
                let payable = app
                    .payables
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
        .intents
        .list_intents_by_payable(&order.payable, 10, None)
        .await?;
    let intent = page
        .items
        .into_iter()
        .find(|i| i.status == IntentStatus::Succeeded);
    Ok(Settled { order, intent })
}
