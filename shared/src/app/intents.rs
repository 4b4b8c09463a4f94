//! Payment intent use cases shared by every API.

use std::collections::BTreeMap;

use secrecy::ExposeSecret;
use time::OffsetDateTime;

use super::AppError;
use super::retry::Attempts;
use crate::app::App;
use crate::auth::Caller;
use crate::domain::intent::{GatewaySuccess, NewIntent, OtpRequestError};
use crate::domain::otp::OtpError;
use crate::domain::{
    GatewayId, IntentId, IntentStatus, OtpCode, OtpHash, OtpPolicy, PayableRef, PayableStatus,
    Payer, Payment, PaymentIntent, PaymentMethod, UserId,
};
use crate::ports::{Expected, OpenOutcome, OtpEmail, Page, PageRequest, StoreError};

const INTENT: &str = "Payment intent";

/// What a caller who may not see an intent, or names none, is told.
pub fn not_found() -> AppError {
    AppError::NotFound(INTENT.into())
}

/// What a caller may do with someone's intent.
#[derive(Clone, Copy)]
pub(crate) enum Access {
    Read,
    /// Confirming is the payer's alone: only they receive the code.
    PayerOnly,
    /// Cancel and fail: the payer, or an Admin.
    Manage,
}

fn allowed(intent: &PaymentIntent, caller: &Caller, access: Access) -> bool {
    let own = intent.payer().user_id == caller.user_id;
    match access {
        Access::Read => own || caller.reads_all(),
        Access::PayerOnly => own,
        Access::Manage => own || caller.is_admin(),
    }
}

pub(crate) async fn load(
    app: &App,
    caller: &Caller,
    id: &IntentId,
    access: Access,
) -> Result<PaymentIntent, AppError> {
    match app.intents.get_intent(id).await? {
        Some(intent) if allowed(&intent, caller, access) => expire_if_due(app, intent).await,
        _ => Err(not_found()),
    }
}

/// An intent its payer abandoned counts as canceled from the first read or
/// write after its time is up: stored so, with its payable freed, before
/// anything else happens to it.
pub(crate) async fn expire_if_due(
    app: &App,
    mut intent: PaymentIntent,
) -> Result<PaymentIntent, AppError> {
    let mut attempts = Attempts::new();
    loop {
        attempts.next()?;
        let expected = Expected::of(&intent);
        if !intent.expire_if_due(app.clock.now(), app.config.intent_ttl) {
            return Ok(intent);
        }
        match app.intents.finish_intent(&mut intent, expected, None).await {
            Ok(()) => {
                tracing::info!(intent = %intent.id(), "intent expired; payable freed");
                return Ok(intent);
            }
            // Someone moved it first: decide again on what they stored.
            Err(StoreError::Conflict) => match app.intents.get_intent(&intent.id()).await? {
                Some(current) => intent = current,
                None => return Err(not_found()),
            },
            Err(e) => return Err(e.into()),
        }
    }
}

/// Expires the intent `id` if its payer abandoned it; true when it did (its
/// payable is then free).
pub(crate) async fn expire_abandoned(app: &App, id: IntentId) -> Result<bool, AppError> {
    let Some(intent) = app.intents.get_intent(&id).await? else {
        return Ok(false);
    };
    let before = intent.status();
    let after = expire_if_due(app, intent).await?;
    Ok(before != after.status())
}

/// Lists show an abandoned intent as the canceled one it has become; the
/// stored item catches up on its next read or write.
pub(crate) fn as_of_now(app: &App, mut page: Page<PaymentIntent>) -> Page<PaymentIntent> {
    let now = app.clock.now();
    for intent in &mut page.items {
        intent.expire_if_due(now, app.config.intent_ttl);
    }
    page
}

/// Reading changes nothing: the functions that only read may not write (their
/// permissions say so), so an abandoned intent is shown as it now stands and
/// stored so by the next write that meets it.
pub async fn get(app: &App, caller: &Caller, id: &IntentId) -> Result<PaymentIntent, AppError> {
    match app.intents.get_intent(id).await? {
        Some(mut intent) if allowed(&intent, caller, Access::Read) => {
            intent.expire_if_due(app.clock.now(), app.config.intent_ttl);
            Ok(intent)
        }
        _ => Err(not_found()),
    }
}

/// What the payer may say about an intent besides what it pays.
#[derive(Debug, Clone, Default)]
pub struct IntentDetails {
    /// Replaces the payable's description on the intent.
    pub description: Option<String>,
    pub return_url: Option<String>,
    pub cancel_url: Option<String>,
}

/// Opens an intent for a payable the caller owns, or returns the one already open.
/// The bool is true when this call created it.
pub async fn open_for_payable(
    app: &App,
    caller: &Caller,
    payable_ref: &PayableRef,
    gateway: GatewayId,
    noun: &str,
) -> Result<(PaymentIntent, bool), AppError> {
    open_for_payable_with(
        app,
        caller,
        payable_ref,
        gateway,
        noun,
        &IntentDetails::default(),
        None,
    )
    .await
}

/// Opens the gateway's side of a new intent first, so that the intent is
/// stored with the ids the gateway's events will name it by.
pub(crate) async fn open_at_gateway(app: &App, intent: &mut PaymentIntent) -> Result<(), AppError> {
    if let Some(connector) = app.gateways.get(intent.gateway()) {
        let opened = connector.create(intent).await?;
        intent.opened_at_gateway(opened.gateway_intent_id, opened.client_secret);
    }
    Ok(())
}

/// As `open_for_payable`, with the payer's details for a new intent.
/// `read` is the payable as the caller just read it, if it did: the first
/// attempt starts from it, and only a lost race reads it again.
pub async fn open_for_payable_with(
    app: &App,
    caller: &Caller,
    payable_ref: &PayableRef,
    gateway: GatewayId,
    noun: &str,
    details: &IntentDetails,
    mut read: Option<crate::domain::Payable>,
) -> Result<(PaymentIntent, bool), AppError> {
    let mut attempts = Attempts::new();
    loop {
        attempts.next()?;
        let payable = match read.take() {
            Some(p) => Some(p),
            None => app.payables.get_payable(payable_ref).await?,
        };
        let payable = match payable {
            Some(p) if p.is_owned_by(&caller.user_id) => p,
            _ => return Err(AppError::NotFound(noun.into())),
        };
        if payable.status() != PayableStatus::Open {
            return Err(AppError::payable_not_open(noun, payable.status()));
        }
        if payable.allocated_minor() > 0 && payable.open_intent_id().is_none() {
            return Err(AppError::PayableLocked(format!(
                "{noun} already has payments recorded; settle it through its payments"
            )));
        }
        if let Some(open) = payable.open_intent_id() {
            if let Some(intent) = app.intents.get_intent(&open).await? {
                let intent = expire_if_due(app, intent).await?;
                if !intent.status().is_terminal() {
                    return Ok((intent, false));
                }
                // It expired just now and freed the payable: open a new one.
                continue;
            }
        }
        let now = app.clock.now();
        let mut intent = PaymentIntent::open(
            NewIntent {
                payer: Payer {
                    user_id: caller.user_id.clone(),
                    // The token's address when it has one; else the one the backend registered.
                    email: caller
                        .email
                        .clone()
                        .unwrap_or_else(|| payable.owner().email.clone()),
                },
                payable: Some(payable_ref.clone()),
                amount: payable.amount(),
                gateway,
                description: details
                    .description
                    .clone()
                    .or_else(|| payable.description().clone()),
                line_items: payable.line_items().clone(),
                business_id: payable.business_id(),
                return_url: details.return_url.clone(),
                cancel_url: details.cancel_url.clone(),
                metadata: BTreeMap::new(),
            },
            now,
        );
        open_at_gateway(app, &mut intent).await?;
        match app.intents.open_intent(&mut intent).await? {
            OpenOutcome::Created => {
                return Ok((intent, true));
            }
            OpenOutcome::PayableHasOpenIntent(id) => {
                if let Some(existing) = app.intents.get_intent(&id).await? {
                    let existing = expire_if_due(app, existing).await?;
                    if !existing.status().is_terminal() {
                        return Ok((existing, false));
                    }
                }
            }
            OpenOutcome::PayableChanged => {}
        }
    }
}

fn purpose(intent: &PaymentIntent) -> String {
    let what = match &intent.payable() {
        Some(p) => format!("{} {}", p.kind, p.id),
        None => format!("payment {}", intent.id()),
    };
    match &intent.description() {
        Some(d) => format!("{what} ({d})"),
        None => what,
    }
}

/// Each intent brings fresh attempts at a code, so a payable lets only a few
/// intents a day have codes sent.
async fn admit_to_payable(
    app: &App,
    payable: &PayableRef,
    intent: &IntentId,
    policy: &OtpPolicy,
) -> Result<(), AppError> {
    let mut attempts = Attempts::new();
    loop {
        attempts.next()?;
        match app
            .payables
            .admit_otp_intent(payable, intent, app.clock.now(), policy)
            .await
        {
            Ok(true) => return Ok(()),
            Ok(false) => {
                return Err(OtpRequestError::Otp(OtpError::TooManyIntentsForPayable(
                    policy.max_intents_per_payable,
                ))
                .into());
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Mails a fresh code (replacing any earlier one) and returns when it expires.
pub async fn request_otp(
    app: &App,
    caller: &Caller,
    id: &IntentId,
) -> Result<OffsetDateTime, AppError> {
    let pepper = app.secrets().await?.otp_pepper.clone();
    let mut intent = load(app, caller, id, Access::PayerOnly).await?;
    let policy = OtpPolicy::STANDARD;
    if intent.otp_sends() == 0 && intent.issue_otp_allowed() {
        if let Some(payable) = &intent.payable() {
            admit_to_payable(app, payable, &intent.id(), &policy).await?;
        }
    }
    let expected = Expected::of(&intent);
    let code = OtpCode::generate();
    let hash = OtpHash::compute(pepper.expose_secret().as_bytes(), &intent.id(), &code);
    let now = app.clock.now();
    let expires_at = intent.issue_otp(hash, now, &policy)?;
    // Stored before sending, so the code works the moment the email arrives.
    app.intents.save_intent(&mut intent, expected).await?;
    app.mailer
        .send_otp(&OtpEmail {
            to: intent.payer().email.clone(),
            code,
            amount: intent.amount(),
            purpose: purpose(&intent),
            expires_at,
        })
        .await?;
    tracing::info!(intent = %intent.id(), "otp sent");
    Ok(expires_at)
}

/// How often, and how far apart, a guess that found every attempt taken looks
/// again for the outcome of the guesses holding them.
const UNDECIDED_READS: u32 = 20;
const UNDECIDED_PAUSE: std::time::Duration = std::time::Duration::from_millis(25);

/// Checks the code; a correct one collects the payment, exactly once.
///
/// An attempt is reserved before the code is compared, so however many guesses
/// arrive at once, at most five are ever compared.
pub async fn confirm_otp(
    app: &App,
    caller: &Caller,
    id: &IntentId,
    code: &OtpCode,
) -> Result<(PaymentIntent, Payment), AppError> {
    let pepper = app.secrets().await?.otp_pepper.clone();
    let pepper = pepper.expose_secret().as_bytes();
    let policy = OtpPolicy::STANDARD;
    let mut undecided_reads = 0;
    let mut attempts = Attempts::with_extra(UNDECIDED_READS);
    loop {
        attempts.next()?;
        let intent = load(app, caller, id, Access::PayerOnly).await?;
        let now = app.clock.now();
        let awaited = match intent.awaited_code(now) {
            Ok(otp) => otp.hash.clone(),
            Err(_) if intent.status().is_terminal() => return Err(terminal_reason(&intent)),
            Err(e) => return Err(e.into()),
        };
        let Some(attempt) = app
            .intents
            .reserve_otp_attempt(&intent.id(), &awaited, policy.max_attempts, now)
            .await?
        else {
            let current = load(app, caller, id, Access::PayerOnly).await?;
            if current.status().is_terminal() {
                return Err(terminal_reason(&current));
            }
            if current.otp_attempts() >= policy.max_attempts {
                // Every attempt is taken by guesses still being compared; the last
                // of them decides how the intent ends. Answer with that outcome
                // once it is stored, rather than guess it.
                undecided_reads += 1;
                if undecided_reads > UNDECIDED_READS {
                    return Err(AppError::OtpAttemptsExceeded);
                }
                tokio::time::sleep(UNDECIDED_PAUSE).await;
                continue;
            }
            // A new code was sent meanwhile: try against that one.
            continue;
        };
        // The intent as the reservation left it, when no other attempt came
        // between the read and the reservation (the attempt numbers agree);
        // else it is read again.
        let mut reserved = intent.clone();
        let reserved = (reserved.reserve_otp_attempt(&awaited, policy.max_attempts, now)
            == Some(attempt))
        .then_some(reserved);
        let verdict = if awaited.matches(pepper, &intent.id(), code) {
            Verdict::CorrectCode
        } else if attempt < policy.max_attempts {
            return Err(AppError::WrongOtp {
                remaining: policy.max_attempts - attempt,
            });
        } else {
            Verdict::LastWrongCode(&policy)
        };
        return end_on_reserved_attempt(app, caller, id, reserved, verdict).await;
    }
}

/// The intent as last read, when this attempt still holds it; else
/// [`load`]ed afresh.
async fn read_or_load(
    read: &mut Option<PaymentIntent>,
    app: &App,
    caller: &Caller,
    id: &IntentId,
    access: Access,
) -> Result<PaymentIntent, AppError> {
    match read.take() {
        Some(intent) => Ok(intent),
        None => load(app, caller, id, access).await,
    }
}

/// How a reserved attempt ends the intent it was made on.
enum Verdict<'a> {
    /// A correct code: the intent succeeds, recording its payment.
    CorrectCode,
    /// The fifth wrong code fails the intent and frees its payable.
    LastWrongCode(&'a OtpPolicy),
}

/// Ends the intent as the reserved attempt's `verdict` says: other attempts
/// may have changed the intent's version since, so only its status decides.
/// `read` is the intent as the reservation left it, if known: the write is
/// conditional on its version, so a later attempt makes it lose and the
/// intent is read again.
async fn end_on_reserved_attempt(
    app: &App,
    caller: &Caller,
    id: &IntentId,
    mut read: Option<PaymentIntent>,
    verdict: Verdict<'_>,
) -> Result<(PaymentIntent, Payment), AppError> {
    let mut attempts = Attempts::new();
    loop {
        attempts.next()?;
        let mut intent = read_or_load(&mut read, app, caller, id, Access::PayerOnly).await?;
        if intent.status() != IntentStatus::RequiresAction {
            return Err(terminal_reason(&intent));
        }
        let expected = Expected::of(&intent);
        let now = app.clock.now();
        let payment = match verdict {
            Verdict::CorrectCode => {
                intent.succeed_on_reserved_attempt(now)?;
                Some(Payment::for_intent(
                    &intent,
                    PaymentMethod::EmailOtp,
                    format!("otp_{}", intent.id().as_uuid().simple()),
                    &app.config.fees,
                    now,
                ))
            }
            Verdict::LastWrongCode(policy) => {
                intent.exhaust_otp_attempts(policy, now)?;
                None
            }
        };
        match app
            .intents
            .finish_intent(&mut intent, expected, payment.as_ref())
            .await
        {
            Ok(()) => {
                return match payment {
                    Some(payment) => {
                        tracing::info!(intent = %intent.id(), payment = %payment.id(), "payment succeeded");
                        Ok((intent, payment))
                    }
                    None => {
                        tracing::warn!(intent = %intent.id(), "otp attempts exceeded; intent failed");
                        Err(AppError::OtpAttemptsExceeded)
                    }
                };
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Why a code can no longer be checked against this intent.
fn terminal_reason(intent: &PaymentIntent) -> AppError {
    if intent.failure_reason().as_deref() == Some(crate::domain::intent::OTP_ATTEMPTS_EXCEEDED) {
        AppError::OtpAttemptsExceeded
    } else {
        crate::domain::IllegalTransition {
            from: intent.status(),
            to: IntentStatus::Processing,
        }
        .into()
    }
}

/// What a gateway event calls for when the gateway reports it collected the
/// money for intent `id`. Money that moved is never dropped: on an intent that
/// had ended (canceled, expired, failed) the payment is recorded all the same
/// and the intent flagged for review. The payment, if this call recorded one,
/// is returned with the intent.
///
/// `read` is the intent as the caller just read it: the first attempt writes
/// on it (conditional on its status and version), and only a lost race
/// reads it again.
pub async fn gateway_succeeded(
    app: &App,
    read: PaymentIntent,
    method: PaymentMethod,
    transaction_id: &str,
) -> Result<(PaymentIntent, Option<Payment>), AppError> {
    let id = read.id();
    let mut read = Some(read);
    // Asked once, only when a payment is to be recorded.
    let mut gateway_fee = None;
    let mut attempts = Attempts::new();
    loop {
        attempts.next()?;
        let intent = match read.take() {
            Some(intent) => intent,
            None => app.intents.get_intent(&id).await?.ok_or_else(not_found)?,
        };
        let mut intent = expire_if_due(app, intent).await?;
        let expected = Expected::of(&intent);
        let now = app.clock.now();
        let outcome = intent.on_gateway_succeeded(now)?;
        let mut payment = Payment::for_intent(
            &intent,
            method,
            transaction_id.to_owned(),
            &app.config.fees,
            now,
        );
        if outcome == GatewaySuccess::RecordForReview {
            payment.hold_for_review(intent.review_reason().clone());
        }
        if outcome != GatewaySuccess::AlreadyCollected {
            if gateway_fee.is_none() {
                gateway_fee = Some(fee_at_gateway(app, &intent).await);
            }
            if let Some(Some(fee)) = gateway_fee {
                payment.take_gateway_fee(fee);
            }
        }
        let written = match outcome {
            GatewaySuccess::AlreadyCollected => return Ok((intent, None)),
            GatewaySuccess::Collect => {
                app.intents
                    .finish_intent(&mut intent, expected, Some(&payment))
                    .await
            }
            GatewaySuccess::RecordForReview => {
                app.intents
                    .record_late_success(&mut intent, expected, &payment)
                    .await
            }
        };
        match written {
            Ok(()) => {
                if outcome == GatewaySuccess::RecordForReview {
                    tracing::warn!(intent = %intent.id(), payment = %payment.id(), "gateway collected money for an ended intent; flagged for review");
                }
                return Ok((intent, Some(payment)));
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// What the intent's gateway says it charged, if it says. Its silence or
/// absence leaves the schedule's fee: the money moved either way, and
/// recording it must not wait on a read.
async fn fee_at_gateway(app: &App, intent: &PaymentIntent) -> Option<i64> {
    let connector = app.gateways.get(intent.gateway())?;
    match connector.collected_fee(intent).await {
        Ok(fee) => fee,
        Err(e) => {
            tracing::warn!(intent = %intent.id(), error = %e, "gateway fee unknown; the fee schedule applies");
            None
        }
    }
}

#[derive(Clone, Copy)]
pub enum Ending {
    Cancel,
    Fail,
}

/// Cancels or fails an intent the caller may manage, and frees its payable;
/// `reason` (when given) is stored as the failure reason.
pub async fn end(
    app: &App,
    caller: &Caller,
    id: &IntentId,
    ending: Ending,
    reason: Option<&str>,
) -> Result<PaymentIntent, AppError> {
    end_read(app, caller, id, ending, reason, None).await
}

/// As [`end`], starting from the intent as the caller just loaded it for
/// managing (`read`): only a lost race reads it again.
pub(crate) async fn end_read(
    app: &App,
    caller: &Caller,
    id: &IntentId,
    ending: Ending,
    reason: Option<&str>,
    mut read: Option<PaymentIntent>,
) -> Result<PaymentIntent, AppError> {
    let mut ended_at_gateway = false;
    let mut attempts = Attempts::new();
    loop {
        attempts.next()?;
        let mut intent = read_or_load(&mut read, app, caller, id, Access::Manage).await?;
        let expected = Expected::of(&intent);
        let by = if intent.payer().user_id == caller.user_id {
            "customer"
        } else {
            "admin"
        };
        // Money is moving: only the gateway (or an Admin) decides how it ends.
        if matches!(ending, Ending::Fail)
            && intent.status() == IntentStatus::Processing
            && !caller.is_admin()
        {
            return Err(AppError::Forbidden(
                "a payment intent the gateway is processing cannot be failed by its payer".into(),
            ));
        }
        // Overruling the gateway is never silent: the Admin says why.
        if matches!(ending, Ending::Fail)
            && intent.status() == IntentStatus::Processing
            && reason.is_none()
        {
            return Err(AppError::ReasonRequired);
        }
        let target = match ending {
            Ending::Cancel => IntentStatus::Canceled,
            Ending::Fail => IntentStatus::Failed,
        };
        if !ended_at_gateway && intent.status().can_transition_to(target) {
            end_at_gateway(app, &intent).await?;
            ended_at_gateway = true;
        }
        let now = app.clock.now();
        match ending {
            Ending::Cancel => intent.cancel(&format!("requested_by_{by}"), now)?,
            Ending::Fail => {
                let default = format!("marked_failed_by_{by}");
                intent.fail(reason.unwrap_or(&default), now)?
            }
        }
        match app.intents.finish_intent(&mut intent, expected, None).await {
            Ok(()) => return Ok(intent),
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Ends a card intent at its gateway before it ends here, so that the
/// gateway can never take money on an intent this service has closed. A
/// gateway that has collected, or is collecting, refuses
/// ([`GatewayError::Collecting`](crate::ports::GatewayError::Collecting)):
/// then nothing changes here either, and its gateway event records the payment.
/// One-time codes are this service's own, and the test gateway's intents
/// live only here: nothing is held elsewhere for them.
pub(crate) async fn end_at_gateway(app: &App, intent: &PaymentIntent) -> Result<(), AppError> {
    match app.gateways.get(intent.gateway()) {
        Some(connector) => Ok(connector.cancel(intent).await?),
        None if matches!(intent.gateway(), GatewayId::Otp | GatewayId::Test) => Ok(()),
        // A gateway this deployment no longer offers may still hold the intent.
        None => Err(crate::ports::GatewayError::Unavailable(format!(
            "the {} gateway is not configured here, so the intent cannot be ended there",
            intent.gateway().as_str()
        ))
        .into()),
    }
}

/// What a caller is told of a user whose intents they may not list, or of no user.
pub fn user_not_found() -> AppError {
    AppError::NotFound("User".into())
}

pub async fn list_for_user(
    app: &App,
    caller: &Caller,
    user: &UserId,
    status: Option<IntentStatus>,
    page: &PageRequest,
) -> Result<Page<PaymentIntent>, AppError> {
    if *user != caller.user_id && !caller.reads_all() {
        return Err(user_not_found());
    }
    let found = app.intents.list_intents_by_user(user, status, page).await?;
    Ok(as_of_now(app, found))
}

pub async fn list_for_payable(
    app: &App,
    caller: &Caller,
    payable_ref: &PayableRef,
    noun: &str,
    page: &PageRequest,
) -> Result<Page<PaymentIntent>, AppError> {
    match app.payables.get_payable(payable_ref).await? {
        Some(p) if p.is_owned_by(&caller.user_id) || caller.reads_all() => {}
        _ => return Err(AppError::NotFound(noun.into())),
    }
    let found = app
        .intents
        .list_intents_by_payable(payable_ref, page)
        .await?;
    Ok(as_of_now(app, found))
}
