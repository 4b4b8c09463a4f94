//! Orders paid through the shop's payment system: the order's card payment
//! intent, and the call that marks an order paid.

use super::AppError;
use super::intents;
use super::payments::ORDER;
use super::retry::Attempts;
use crate::app::App;
use crate::auth::Caller;
use crate::domain::{
    GatewayId, IntentStatus, Money, Payable, PayableRef, PayableStatus, Payment, PaymentIntent,
    PaymentMethod, PaymentStatus, StatedAmount,
};
use crate::ports::{Expected, PageRequest, StoreError};

/// How long the payments-by-order index is given to catch up with its table.
const INDEX_CATCH_UP: std::time::Duration = std::time::Duration::from_millis(20);

/// The order's card payment intent, at the deployment's default gateway: the
/// open one, or a new one. The bool is true when this call created it.
pub async fn shop_intent(
    app: &App,
    caller: &Caller,
    order: &PayableRef,
) -> Result<(PaymentIntent, bool), AppError> {
    let gateway = super::payment_intents::card_gateway(app, None)?;
    intents::open_for_payable(app, caller, order, gateway, ORDER).await
}

/// Why a card intent ended when its order was marked paid another way.
pub const PAID_OFFLINE: &str = "paid_offline";

/// How an order ended up paid.
#[derive(Debug)]
pub struct Settled {
    pub order: Payable,
    /// The intent that collected it, if one did.
    pub intent: Option<PaymentIntent>,
}

/// What the payment system says about the money it collected, when it says
/// anything: recorded on the payment instead of assuming a card.
#[derive(Debug, Clone, Default)]
pub struct PaidWith {
    /// The payment system's (or gateway's) reference for the money.
    pub reference: Option<String>,
    /// As stated, in the order's currency: it must be the order's total.
    pub amount: Option<StatedAmount>,
    pub method: Option<PaymentMethod>,
}

/// Marks an order paid for the shop's payment system: completes its open intent,
/// or its PENDING payments (recording a COMPLETED payment for any rest), or records
/// one COMPLETED payment for the whole. Calling it again changes nothing.
pub async fn mark_paid(
    app: &App,
    order: &PayableRef,
    paid: &PaidWith,
) -> Result<Settled, AppError> {
    let method = paid.method.unwrap_or(PaymentMethod::Card);
    let mut attempts = Attempts::new();
    loop {
        let attempt = attempts.next()?;
        let payable = app
            .payables
            .get_payable(order)
            .await?
            .ok_or_else(|| AppError::NotFound(ORDER.into()))?;
        if let Some(stated) = &paid.amount {
            let currency = payable.amount().currency();
            if Money::from_stated(stated, currency).ok() != Some(payable.amount()) {
                return Err(AppError::AmountNotTotal {
                    total: payable.amount(),
                });
            }
        }
        match payable.status() {
            PayableStatus::Paid => return Ok(settled(app, payable).await?),
            PayableStatus::Canceled => {
                return Err(AppError::payable_not_open(ORDER, payable.status()));
            }
            PayableStatus::Open => {}
        }
        let now = app.clock.now();
        let outcome = if let Some(intent_id) = payable.open_intent_id() {
            // Gone, or finished since the order was read: read the order again.
            let Some(mut intent) = app
                .intents
                .get_intent(&intent_id)
                .await?
                .filter(|i| !i.status().is_terminal())
            else {
                continue;
            };
            let expected = Expected::of(&intent);
            if intent.gateway() != GatewayId::Otp {
                // The money came another way: the card intent ends at its
                // gateway first (a gateway that has collected, or is
                // collecting, refuses, and its payment is the one recorded),
                // then here, freeing the order for an offline payment of its
                // own, never attached to the gateway's intent.
                intents::end_at_gateway(app, &intent).await?;
                intent.cancel(PAID_OFFLINE, now)?;
                match app.intents.finish_intent(&mut intent, expected, None).await {
                    Ok(()) | Err(StoreError::Conflict) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            if intent.status() != IntentStatus::Processing {
                intent.transition(IntentStatus::Processing, now)?;
            }
            intent.transition(IntentStatus::Succeeded, now)?;
            let transaction_id = paid
                .reference
                .clone()
                .or_else(|| intent.gateway_intent_id().clone())
                .unwrap_or_else(|| intent.id().to_string());
            let payment =
                Payment::for_intent(&intent, method, transaction_id, &app.config.fees, now);
            app.intents
                .finish_intent(&mut intent, expected, Some(&payment))
                .await
                .map(|()| Some(intent))
        } else {
            let pending = pending_payments(app, order).await?;
            // The list comes from an index that lags its table: a payment recorded
            // a moment ago may be missing. Every PENDING payment is allocated, so
            // only when they add up to exactly what the order has allocated beyond
            // what is paid is the list complete; the write below is conditioned on
            // those very sums, so none can slip in after this check.
            let pending_sum: i64 = pending.iter().map(|p| p.amount().minor()).sum();
            if pending_sum != payable.allocated_minor() - payable.paid_minor() {
                tracing::info!(order = %order, "pending payments not all listed yet; reading again");
                // The index catches up within moments; give it one before reading again.
                tokio::time::sleep(INDEX_CATCH_UP * attempt).await;
                continue;
            }
            let rest = payable.unallocated_minor();
            let extra = if rest > 0 {
                let rest = Money::from_minor(rest, payable.amount().currency())
                    .map_err(AppError::Amount)?;
                let mut payment = Payment::against(
                    &payable,
                    rest,
                    method,
                    PaymentStatus::Completed,
                    &app.config.fees,
                    now,
                );
                payment.take_reference(paid.reference.clone());
                Some(payment)
            } else {
                None
            };
            let completed = pending
                .into_iter()
                .map(|mut p| p.complete(&app.config.fees).map(|()| p))
                .collect::<Result<Vec<_>, _>>()
                .map_err(AppError::NotCompletable)?;
            // No intent can have succeeded here: one that succeeds pays
            // its order in the same write.
            app.payables
                .complete_payable(&payable, &completed, extra.as_ref(), now)
                .await
                .map(|()| None)
        };
        match outcome {
            Ok(intent) => {
                tracing::info!(order = %order, "order marked paid");
                // The write succeeded only on the order as read, so how it
                // leaves the order is known: no need to read it back (nor to
                // look for its intent in an index that lags).
                let mut order = payable;
                order.mark_paid(now);
                order.fix_owner();
                return Ok(Settled { order, intent });
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Every PENDING payment of the order, however many pages the list takes.
async fn pending_payments(app: &App, order: &PayableRef) -> Result<Vec<Payment>, StoreError> {
    let mut pending = Vec::new();
    let mut request = PageRequest::first(100);
    loop {
        let page = app
            .payments
            .list_payments_by_payable(order, &request)
            .await?;
        pending.extend(
            page.items
                .into_iter()
                .filter(|p| p.status() == PaymentStatus::Pending),
        );
        request.cursor = page.next;
        if request.cursor.is_none() {
            return Ok(pending);
        }
    }
}

async fn settled(app: &App, order: Payable) -> Result<Settled, StoreError> {
    let page = app
        .intents
        .list_intents_by_payable(order.payable(), &PageRequest::first(10))
        .await?;
    let intent = page
        .items
        .into_iter()
        .find(|i| i.status() == IntentStatus::Succeeded);
    Ok(Settled { order, intent })
}
