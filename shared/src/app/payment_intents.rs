//! Intents collected through a payment gateway (a card network, Stripe): the
//! payer confirms with a payment method, the gateway answers at once or later
//! by an event it posts; staff read every intent.

use std::collections::BTreeMap;

use super::AppError;
use super::intents::{
    Access, Ending, IntentDetails, as_of_now, end_read, gateway_succeeded, load, open_at_gateway,
    open_for_payable_with,
};
use super::retry::Attempts;
use crate::app::App;
use crate::auth::Caller;
use crate::domain::intent::NewIntent;
use crate::domain::{
    Confirmation, GatewayId, IllegalTransition, IntentId, IntentStatus, Money, PayableKind,
    PayableRef, Payer, PaymentIntent, PaymentMethod, RequestKey, UserId,
};
use crate::ports::{Expected, OpenOutcome, Page, PageRequest, StoreError};

/// What a payer asks for when opening an intent through a gateway.
#[derive(Debug, Clone)]
pub struct NewGatewayIntent {
    /// What it pays; none for a standalone intent of `amount`.
    pub payable: Option<PayableRef>,
    /// Required without a payable; with one, it must be the payable's own.
    pub amount: Option<Money>,
    /// The gateway the payer names; none for the deployment's default.
    pub gateway: Option<GatewayId>,
    pub description: Option<String>,
    pub return_url: Option<String>,
    pub cancel_url: Option<String>,
}

fn noun(kind: PayableKind) -> &'static str {
    match kind {
        PayableKind::Invoice => "Invoice",
        PayableKind::Order => "Order",
        PayableKind::Registration => "Registration",
    }
}

/// Checked before anything about the intent, so a caller without the role
/// learns nothing of the id it sent.
pub fn staff_only(caller: &Caller) -> Result<(), AppError> {
    if caller.reads_all() {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "Only Admin or Support may read payment intents here".into(),
        ))
    }
}

/// The card gateway an intent opens at: the one the payer names, if this
/// deployment offers it, else the deployment's default, if it is configured.
/// Neither falls back to another gateway.
pub fn card_gateway(app: &App, named: Option<GatewayId>) -> Result<GatewayId, AppError> {
    match named {
        // `otp` has no connector: its intents are the OTP payment intents API's.
        Some(gateway) if app.gateways.get(gateway).is_some() => Ok(gateway),
        Some(_) => Err(AppError::GatewayNotOffered),
        None => {
            let gateway = app.config.default_gateway;
            match app.gateways.get(gateway) {
                Some(_) => Ok(gateway),
                None => Err(AppError::DefaultGatewayMissing(gateway)),
            }
        }
    }
}

/// Opens an intent at its gateway and here. For a payable the caller owns,
/// the payable's open intent is returned instead when it has one (the bool
/// is false then); the amount always comes from the payable.
pub async fn create(
    app: &App,
    caller: &Caller,
    new: NewGatewayIntent,
    key: Option<&RequestKey>,
) -> Result<(PaymentIntent, bool), AppError> {
    let gateway = card_gateway(app, new.gateway)?;
    let details = IntentDetails {
        description: new.description.clone(),
        return_url: new.return_url.clone(),
        cancel_url: new.cancel_url.clone(),
    };
    match &new.payable {
        Some(payable_ref) => {
            let what = noun(payable_ref.kind);
            let payable = match app.payables.get_payable(payable_ref).await? {
                Some(p) if p.is_owned_by(&caller.user_id) => p,
                _ => return Err(AppError::NotFound(what.into())),
            };
            if let Some(amount) = new.amount {
                if amount != payable.amount() {
                    return Err(AppError::AmountNotPayables {
                        noun: what,
                        amount: payable.amount(),
                    });
                }
            }
            open_for_payable_with(
                app,
                caller,
                payable_ref,
                gateway,
                what,
                &details,
                Some(payable),
            )
            .await
        }
        None => standalone(app, caller, &new, gateway, details, key).await,
    }
}

/// An intent for an amount the payer states, collecting no payable. Under an
/// Idempotency-Key its id is derived from the key, so a retry after a crash
/// finds the intent the first run stored instead of opening a second.
async fn standalone(
    app: &App,
    caller: &Caller,
    new: &NewGatewayIntent,
    gateway: GatewayId,
    details: IntentDetails,
    key: Option<&RequestKey>,
) -> Result<(PaymentIntent, bool), AppError> {
    let amount = new.amount.ok_or(AppError::AmountRequired)?;
    let id = key.map(RequestKey::intent_id);
    if let Some(id) = &id {
        if let Some(existing) = app.intents.get_intent(id).await? {
            return same_request(caller, existing);
        }
    }
    let payer = Payer {
        user_id: caller.user_id.clone(),
        email: caller.email.clone().ok_or(AppError::PayerEmailMissing)?,
    };
    let fields = NewIntent {
        payer,
        payable: None,
        amount,
        gateway,
        description: details.description,
        line_items: vec![],
        business_id: None,
        return_url: details.return_url,
        cancel_url: details.cancel_url,
        metadata: BTreeMap::new(),
    };
    let now = app.clock.now();
    let mut intent = match id {
        Some(id) => PaymentIntent::open_as(id, fields, now),
        None => PaymentIntent::open(fields, now),
    };
    open_at_gateway(app, &mut intent).await?;
    match app.intents.open_intent(&mut intent).await {
        Ok(OpenOutcome::Created) => Ok((intent, true)),
        // Another run of the same request stored it first.
        Err(StoreError::Conflict) => match app.intents.get_intent(&intent.id()).await? {
            Some(existing) => same_request(caller, existing),
            None => Err(StoreError::Conflict.into()),
        },
        Ok(_) => Err(StoreError::Conflict.into()),
        Err(e) => Err(e.into()),
    }
}

/// What an earlier run of this request created is answered as created again.
fn same_request(
    caller: &Caller,
    existing: PaymentIntent,
) -> Result<(PaymentIntent, bool), AppError> {
    if existing.payer().user_id == caller.user_id {
        Ok((existing, true))
    } else {
        Err(AppError::KeyReused)
    }
}

/// Tries `payment_method` on the payer's intent and stores what the gateway
/// answered before answering: a success with its payment (exactly once), a
/// decline with its reason (the payer may try again), or the action the payer
/// must take.
pub async fn confirm(
    app: &App,
    caller: &Caller,
    id: &IntentId,
    payment_method: &str,
) -> Result<PaymentIntent, AppError> {
    let intent = load(app, caller, id, Access::PayerOnly).await?;
    let Some(connector) = app.gateways.get(intent.gateway()) else {
        return Err(AppError::ConfirmedByCode);
    };
    if !intent.takes_payment_method() {
        return Err(IllegalTransition {
            from: intent.status(),
            to: IntentStatus::Processing,
        }
        .into());
    }
    let outcome = connector.confirm(&intent, payment_method).await?;
    if outcome == Confirmation::Succeeded {
        // The money moved: recorded whatever happened to the intent meanwhile.
        let reference = intent
            .gateway_intent_id()
            .clone()
            .unwrap_or_else(|| intent.id().to_string());
        let (collected, _) =
            gateway_succeeded(app, intent, PaymentMethod::Card, &reference).await?;
        return Ok(collected);
    }
    store_outcome(app, caller, id, intent, &outcome).await
}

/// Stores a decline, an action or processing on the intent as it now stands.
async fn store_outcome(
    app: &App,
    caller: &Caller,
    id: &IntentId,
    mut intent: PaymentIntent,
    outcome: &Confirmation,
) -> Result<PaymentIntent, AppError> {
    let mut attempts = Attempts::new();
    loop {
        attempts.next()?;
        let expected = Expected::of(&intent);
        let mut next = intent.clone();
        next.apply_confirmation(outcome, app.clock.now())?;
        match app.intents.save_intent(&mut next, expected).await {
            Ok(()) => {
                return Ok(next);
            }
            // Changed meanwhile: the outcome applies only if it is still the payer's turn.
            Err(StoreError::Conflict) => {
                intent = load(app, caller, id, Access::PayerOnly).await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Cancels the intent at its gateway first, so that the gateway can never
/// take money on an intent ended here, then here, freeing its payable.
pub async fn cancel(app: &App, caller: &Caller, id: &IntentId) -> Result<PaymentIntent, AppError> {
    let intent = load(app, caller, id, Access::Manage).await?;
    if !intent.status().can_transition_to(IntentStatus::Canceled) {
        return Err(IllegalTransition {
            from: intent.status(),
            to: IntentStatus::Canceled,
        }
        .into());
    }
    // Ended at its gateway first (see `end_read`).
    end_read(app, caller, id, Ending::Cancel, None, Some(intent)).await
}

/// Any intent, for Admin and Support.
pub async fn get_for_staff(
    app: &App,
    caller: &Caller,
    id: &IntentId,
) -> Result<PaymentIntent, AppError> {
    staff_only(caller)?;
    super::intents::get(app, caller, id).await
}

/// Every intent, newest first, for Admin and Support.
pub async fn list_all(
    app: &App,
    caller: &Caller,
    page: &PageRequest,
) -> Result<Page<PaymentIntent>, AppError> {
    staff_only(caller)?;
    let found = app.intents.list_all_intents(page).await?;
    Ok(as_of_now(app, found))
}

/// One customer's intents, newest first, for Admin and Support.
pub async fn list_for_customer(
    app: &App,
    caller: &Caller,
    customer: Option<&UserId>,
    page: &PageRequest,
) -> Result<Page<PaymentIntent>, AppError> {
    staff_only(caller)?;
    let Some(customer) = customer else {
        // No such customer can exist: an empty list, as for any customer without intents.
        return Ok(Page {
            items: vec![],
            next: None,
        });
    };
    let found = app
        .intents
        .list_intents_by_user(customer, None, page)
        .await?;
    Ok(as_of_now(app, found))
}
