//! The Stripe connector: one Stripe PaymentIntent mirrors each of ours.
//!
//! Every POST carries an `Idempotency-Key` derived from our intent and the
//! operation, so that a retried call (ours, or the payer's retry of the same
//! confirm) can never act twice at Stripe. Only what cannot have acted, or
//! what Stripe says may be retried (429, 5xx), is sent again here, a couple
//! of times with backoff; a timeout is not, since the Lambda's time is short:
//! the payer's retry sends the same key.
//!
//! Every call, resends included, ends by the request's deadline (see
//! [`deadline`](crate::ports::deadline)): the function must outlive its calls
//! to Stripe to store what they did and let the Idempotency-Key go.

pub mod event;
pub mod mapping;
pub mod transport;

use std::sync::Arc;
use std::time::Duration;

use crate::domain::{Confirmation, PaymentIntent, Refund};
use crate::ports::deadline;
use crate::ports::{
    Gateway, GatewayError, GatewayEvent, GatewayEventError, GatewayIntent, GatewayRefund,
};
pub use transport::{
    HttpTransport, StripeRequest, StripeResponse, StripeTransport, TransportError,
};

/// Where Stripe's API is unless `STRIPE_API_BASE` says otherwise.
pub const DEFAULT_API_BASE: &str = "https://api.stripe.com";
/// How long one attempt may take, connection and answer included. A
/// confirm's three calls (attach the card, confirm, read the fee) fit in a
/// gateway function's 28 s with the storing margin to spare, even before
/// the request's own deadline shortens the later ones.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(8);
/// Sends of one request, the first included.
const ATTEMPTS: u32 = 3;
/// The wait before the first resend; doubled before each next one.
const BACKOFF: Duration = Duration::from_millis(200);

pub struct StripeGateway {
    transport: Arc<dyn StripeTransport>,
    attempt_timeout: Duration,
}

/// What one POST came to, once retries are spent.
enum Answer {
    Ok(Vec<u8>),
    /// Stripe refused it (4xx other than 429).
    Refused {
        status: u16,
        body: Vec<u8>,
    },
}

impl StripeGateway {
    pub fn new(transport: Arc<dyn StripeTransport>) -> Self {
        Self {
            transport,
            attempt_timeout: ATTEMPT_TIMEOUT,
        }
    }

    /// The same, giving up on an attempt after `timeout`.
    pub fn with_attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    /// Sends one call through the transport, for at most the attempt
    /// timeout or what the request has left, whichever is less. The limit
    /// lives here rather than in the transport so that it bounds every
    /// transport alike, and the whole call: connecting, sending, reading
    /// the answer to its last byte.
    async fn bounded<F>(
        &self,
        call: F,
    ) -> Result<Result<StripeResponse, TransportError>, GatewayError>
    where
        F: std::future::Future<Output = Result<StripeResponse, TransportError>>,
    {
        let limit = deadline::call_limit(self.attempt_timeout, deadline::left());
        if limit.is_zero() {
            // Nothing is sent: there would be no time to store what it did.
            return Err(GatewayError::TimedOut(
                "no time left in this request for a call to Stripe".into(),
            ));
        }
        tokio::time::timeout(limit, call).await.map_err(|_| {
            GatewayError::TimedOut(format!(
                "no answer from Stripe within {} ms",
                limit.as_millis()
            ))
        })
    }

    async fn post(&self, request: StripeRequest) -> Result<Answer, GatewayError> {
        let mut wait = BACKOFF;
        let mut attempt = 1;
        loop {
            // Cut, it may have acted: only the same request, later, may find out.
            let sent = self.bounded(self.transport.post(&request)).await?;
            let retry_why = match sent {
                Ok(r) if (200..300).contains(&r.status) => return Ok(Answer::Ok(r.body)),
                Ok(r) if r.status == 429 || r.status >= 500 => {
                    format!("Stripe answered {}", r.status)
                }
                Ok(r) => {
                    return Ok(Answer::Refused {
                        status: r.status,
                        body: r.body,
                    });
                }
                Err(e @ TransportError::NotSent(_)) => e.to_string(),
                // It may have acted: only the same request, later, may find out.
                Err(e @ TransportError::NoAnswer(_)) => {
                    return Err(GatewayError::Unavailable(e.to_string()));
                }
            };
            // A resend the request has no time to wait for is not made.
            if attempt >= ATTEMPTS || deadline::left().is_some_and(|left| left <= wait) {
                return Err(GatewayError::Unavailable(retry_why));
            }
            tracing::warn!(
                path = %request.path,
                attempt,
                "Stripe call retried: {retry_why}"
            );
            tokio::time::sleep(wait).await;
            wait *= 2;
            attempt += 1;
        }
    }

    fn gateway_intent_id(intent: &PaymentIntent) -> Result<&str, GatewayError> {
        intent.gateway_intent_id().as_deref().ok_or_else(|| {
            GatewayError::Unavailable("the intent was never opened at Stripe".into())
        })
    }
}

/// The Idempotency-Key of `operation` on our intent. A confirm is one
/// attempt per stored version of the intent and payment method: the payer's
/// retry after a fault sends the same key (nothing was stored meanwhile),
/// while a new attempt after a stored decline gets a new one.
pub fn idempotency_key(intent: &PaymentIntent, operation: &str) -> String {
    format!("payment-service:{}:{operation}", intent.id())
}

fn confirm_operation(intent: &PaymentIntent, step: &str, payment_method: &str) -> String {
    format!("v{}:{step}:{payment_method}", intent.version())
}

fn fields(pairs: &[(&str, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

#[async_trait::async_trait]
impl Gateway for StripeGateway {
    /// Exactly the parameters both Stripe and its local emulator accept.
    async fn create(&self, intent: &PaymentIntent) -> Result<GatewayIntent, GatewayError> {
        let request = StripeRequest {
            path: "/v1/payment_intents".into(),
            form: fields(&[
                ("amount", intent.amount().minor().to_string()),
                (
                    "currency",
                    intent.amount().currency().code().to_ascii_lowercase(),
                ),
                ("metadata[intent_id]", intent.id().to_string()),
                ("payment_method_types[]", "card".into()),
            ]),
            idempotency_key: idempotency_key(intent, "create"),
        };
        match self.post(request).await? {
            Answer::Ok(body) => {
                let opened = mapping::intent(&body)?;
                let client_secret = opened.client_secret.ok_or_else(|| {
                    GatewayError::Unavailable(
                        "Stripe opened an intent without a client secret".into(),
                    )
                })?;
                Ok(GatewayIntent {
                    gateway_intent_id: opened.id,
                    client_secret,
                })
            }
            Answer::Refused { status, body } => {
                Err(mapping::refused(status, &mapping::error(&body)))
            }
        }
    }

    /// Attaches the payment method, then confirms with no parameters (the
    /// emulator refuses a payment method on confirm).
    async fn confirm(
        &self,
        intent: &PaymentIntent,
        payment_method: &str,
    ) -> Result<Confirmation, GatewayError> {
        let id = Self::gateway_intent_id(intent)?;
        let attach = StripeRequest {
            path: format!("/v1/payment_intents/{id}"),
            form: fields(&[("payment_method", payment_method.to_owned())]),
            idempotency_key: idempotency_key(
                intent,
                &confirm_operation(intent, "attach", payment_method),
            ),
        };
        if let Answer::Refused { status, body } = self.post(attach).await? {
            return Err(mapping::attach_refused(status, &body, payment_method));
        }
        let confirm = StripeRequest {
            path: format!("/v1/payment_intents/{id}/confirm"),
            form: vec![],
            idempotency_key: idempotency_key(
                intent,
                &confirm_operation(intent, "confirm", payment_method),
            ),
        };
        match self.post(confirm).await? {
            Answer::Ok(body) => mapping::confirmation(&mapping::intent(&body)?),
            Answer::Refused { status, body } => {
                mapping::confirm_refused(status, &body, payment_method)
            }
        }
    }

    async fn cancel(&self, intent: &PaymentIntent) -> Result<(), GatewayError> {
        let Some(id) = intent.gateway_intent_id().as_deref() else {
            // Never opened there: nothing to end.
            return Ok(());
        };
        let request = StripeRequest {
            path: format!("/v1/payment_intents/{id}/cancel"),
            form: vec![],
            idempotency_key: idempotency_key(intent, "cancel"),
        };
        match self.post(request).await? {
            Answer::Ok(_) => Ok(()),
            // Stripe refuses to cancel an intent in a state that cannot be
            // canceled (its `payment_intent_unexpected_state`; the emulator
            // answers a bare 400): what state that is decides between
            // "nothing to do" and "the money is moving".
            Answer::Refused { status, body } => match self.status_of(id).await {
                Ok(state) => mapping::cancel_refused(&state)
                    .unwrap_or_else(|| Err(mapping::refused(status, &mapping::error(&body)))),
                Err(_) => Err(mapping::refused(status, &mapping::error(&body))),
            },
        }
    }

    /// A refund of the intent's charge. Sends exactly what the local
    /// emulator accepts (it refuses `reason`, which is ours to keep); our
    /// refund id in its metadata lets a webhook that outruns our own record
    /// of Stripe's id still find the refund. Its key is the refund's own: a
    /// retry of the same refund can never give the money back twice.
    async fn refund(
        &self,
        intent: &PaymentIntent,
        refund: &Refund,
    ) -> Result<GatewayRefund, GatewayError> {
        let id = Self::gateway_intent_id(intent)?;
        let request = StripeRequest {
            path: "/v1/refunds".into(),
            form: fields(&[
                ("payment_intent", id.to_owned()),
                ("amount", refund.amount().minor().to_string()),
                ("metadata[refund_id]", refund.id().to_string()),
            ]),
            idempotency_key: idempotency_key(intent, &format!("refund:{}", refund.id())),
        };
        match self.post(request).await? {
            Answer::Ok(body) => mapping::refund(&body, &refund.id().to_string()),
            Answer::Refused { status, body } => {
                Err(mapping::refund_refused(status, &mapping::error(&body)))
            }
        }
    }

    /// Stripe keeps an idempotency key's answer for 24 hours.
    fn refund_key_lifetime(&self) -> Option<time::Duration> {
        Some(time::Duration::hours(24))
    }

    /// The intent's refunds, listed page by page, matched by the refund id
    /// we keep in each one's metadata.
    async fn find_refund(
        &self,
        intent: &PaymentIntent,
        refund: &Refund,
    ) -> Result<Option<GatewayRefund>, GatewayError> {
        let id = Self::gateway_intent_id(intent)?;
        let ours = refund.id().to_string();
        let mut after: Option<String> = None;
        for _ in 0..REFUND_LIST_PAGES {
            let mut path = format!("/v1/refunds?payment_intent={id}&limit=100");
            if let Some(last) = &after {
                path.push_str(&format!("&starting_after={last}"));
            }
            let body = self.read(&path, "the refunds").await?;
            match mapping::refund_in_list(&body, &ours)? {
                (Some(found), _) => return Ok(Some(found)),
                (None, Some(next)) => after = Some(next),
                (None, None) => return Ok(None),
            }
        }
        Err(GatewayError::Unavailable(format!(
            "more than {REFUND_LIST_PAGES} pages of refunds on {id}"
        )))
    }

    /// The fee of the charge's balance transaction. A read: tried once,
    /// within the attempt timeout and what the request has left.
    async fn collected_fee(&self, intent: &PaymentIntent) -> Result<Option<i64>, GatewayError> {
        let id = Self::gateway_intent_id(intent)?;
        let path =
            format!("/v1/payment_intents/{id}?expand%5B%5D=latest_charge.balance_transaction");
        let body = self.read(&path, "the charge").await?;
        mapping::charge_fee(&body, intent.amount().currency().code())
    }

    fn parse_event(&self, body: &[u8]) -> Result<GatewayEvent, GatewayEventError> {
        event::parse(body)
    }
}

/// Most pages of 100 refunds read to find one: a charge has far fewer.
const REFUND_LIST_PAGES: usize = 10;

impl StripeGateway {
    /// The status Stripe holds for its intent `id`.
    async fn status_of(&self, id: &str) -> Result<String, GatewayError> {
        let body = self
            .read(&format!("/v1/payment_intents/{id}"), "the intent")
            .await?;
        Ok(mapping::intent(&body)?.status)
    }

    /// The body of a GET of `path` (reading `what`). A read: tried once,
    /// within the attempt's and the request's time.
    async fn read(&self, path: &str, what: &str) -> Result<Vec<u8>, GatewayError> {
        let answer = self
            .bounded(self.transport.get(path))
            .await?
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        if !(200..300).contains(&answer.status) {
            return Err(GatewayError::Unavailable(format!(
                "Stripe answered {} to reading {what}",
                answer.status
            )));
        }
        Ok(answer.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::intent::{named_by_gateway, sample_intent};
    use crate::domain::{Currency, GatewayId, Money};
    use std::sync::Mutex;
    use time::OffsetDateTime;

    fn intent() -> PaymentIntent {
        let opened = sample_intent(GatewayId::Stripe, OffsetDateTime::UNIX_EPOCH);
        named_by_gateway(opened, "pi_1")
    }

    /// Answers from a script, recording what was sent.
    struct Scripted {
        answers: Mutex<Vec<Result<StripeResponse, TransportError>>>,
        sent: Mutex<Vec<StripeRequest>>,
    }

    impl Scripted {
        fn new(mut answers: Vec<Result<StripeResponse, TransportError>>) -> Arc<Self> {
            answers.reverse();
            Arc::new(Self {
                answers: Mutex::new(answers),
                sent: Mutex::new(vec![]),
            })
        }
        fn sent(&self) -> Vec<StripeRequest> {
            self.sent.lock().expect("lock").clone()
        }
    }

    #[async_trait::async_trait]
    impl StripeTransport for Scripted {
        async fn post(&self, request: &StripeRequest) -> Result<StripeResponse, TransportError> {
            self.sent.lock().expect("lock").push(request.clone());
            self.answers
                .lock()
                .expect("lock")
                .pop()
                .expect("an answer scripted")
        }

        async fn get(&self, path_and_query: &str) -> Result<StripeResponse, TransportError> {
            self.sent.lock().expect("lock").push(StripeRequest {
                path: path_and_query.to_owned(),
                form: vec![],
                idempotency_key: String::new(),
            });
            self.answers
                .lock()
                .expect("lock")
                .pop()
                .expect("an answer scripted")
        }
    }

    fn ok(body: serde_json::Value) -> Result<StripeResponse, TransportError> {
        Ok(StripeResponse {
            status: 200,
            body: body.to_string().into_bytes(),
        })
    }

    fn status(code: u16) -> Result<StripeResponse, TransportError> {
        Ok(StripeResponse {
            status: code,
            body: b"{}".to_vec(),
        })
    }

    #[tokio::test]
    async fn create_sends_exactly_the_parameters_the_emulator_accepts() {
        let t = Scripted::new(vec![ok(
            serde_json::json!({"id": "pi_9", "client_secret": "pi_9_secret_x", "status": "requires_payment_method"}),
        )]);
        let i = intent();
        let opened = StripeGateway::new(t.clone()).create(&i).await;
        assert_eq!(
            opened,
            Ok(GatewayIntent {
                gateway_intent_id: "pi_9".into(),
                client_secret: "pi_9_secret_x".into()
            })
        );
        let sent = t.sent();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].path, "/v1/payment_intents");
        assert_eq!(
            sent[0].form,
            fields(&[
                ("amount", "11200".into()),
                ("currency", "usd".into()),
                ("metadata[intent_id]", i.id().to_string()),
                ("payment_method_types[]", "card".into()),
            ])
        );
        assert_eq!(sent[0].idempotency_key, idempotency_key(&i, "create"));
    }

    #[tokio::test]
    async fn faults_are_resent_with_the_same_key_a_couple_of_times() {
        let succeeded = serde_json::json!({"id": "pi_1", "status": "succeeded"});
        let t = Scripted::new(vec![
            ok(serde_json::json!({"id": "pi_1", "status": "requires_confirmation"})),
            Err(TransportError::NotSent("refused".into())),
            status(503),
            ok(succeeded),
        ]);
        let outcome = StripeGateway::new(t.clone())
            .confirm(&intent(), "pm_1")
            .await;
        assert_eq!(outcome, Ok(Confirmation::Succeeded));
        let sent = t.sent();
        assert_eq!(sent.len(), 4);
        assert_eq!(sent[0].path, "/v1/payment_intents/pi_1");
        assert_eq!(sent[0].form, fields(&[("payment_method", "pm_1".into())]));
        for resend in &sent[1..] {
            assert_eq!(resend.path, "/v1/payment_intents/pi_1/confirm");
            assert!(resend.form.is_empty());
            assert_eq!(resend.idempotency_key, sent[1].idempotency_key);
        }
        assert_ne!(sent[0].idempotency_key, sent[1].idempotency_key);
    }

    #[tokio::test]
    async fn a_fault_that_persists_is_unavailable_after_three_sends() {
        let t = Scripted::new(vec![status(500), status(429), status(502)]);
        let err = StripeGateway::new(t.clone()).cancel(&intent()).await;
        assert!(matches!(err, Err(GatewayError::Unavailable(_))), "{err:?}");
        assert_eq!(t.sent().len(), 3);
    }

    #[tokio::test]
    async fn an_unanswered_request_is_not_resent() {
        let t = Scripted::new(vec![Err(TransportError::NoAnswer("reset".into()))]);
        let err = StripeGateway::new(t.clone()).cancel(&intent()).await;
        assert!(matches!(err, Err(GatewayError::Unavailable(_))), "{err:?}");
        assert_eq!(t.sent().len(), 1);
    }

    /// Takes every request and never answers, as a Stripe that hangs.
    #[derive(Default)]
    struct Silent {
        sent: Mutex<usize>,
    }

    #[async_trait::async_trait]
    impl StripeTransport for Silent {
        async fn post(&self, _: &StripeRequest) -> Result<StripeResponse, TransportError> {
            *self.sent.lock().expect("lock") += 1;
            std::future::pending().await
        }

        async fn get(&self, _: &str) -> Result<StripeResponse, TransportError> {
            *self.sent.lock().expect("lock") += 1;
            std::future::pending().await
        }
    }

    /// An invocation deadline (ms since the epoch) that leaves gateway
    /// calls `left` once the storing margin is kept back.
    fn deadline_leaving(left: Duration) -> Option<u64> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970");
        Some((now + deadline::STORING_MARGIN + left).as_millis() as u64)
    }

    /// Fails the test instead of hanging it when a deadline does not cut.
    async fn cut<T>(call: impl std::future::Future<Output = T>) -> T {
        tokio::time::timeout(Duration::from_secs(60), call)
            .await
            .expect("the call was cut by its deadline")
    }

    #[tokio::test]
    async fn an_attempt_cut_by_its_timeout_is_timed_out_and_not_resent() {
        let t = Arc::new(Silent::default());
        let stripe = StripeGateway::new(t.clone()).with_attempt_timeout(Duration::from_millis(50));
        let err = cut(stripe.confirm(&intent(), "pm_1")).await;
        assert!(matches!(err, Err(GatewayError::TimedOut(_))), "{err:?}");
        assert_eq!(*t.sent.lock().expect("lock"), 1, "the attach, once");
        let err = cut(stripe.collected_fee(&intent())).await;
        assert!(matches!(err, Err(GatewayError::TimedOut(_))), "{err:?}");
    }

    #[tokio::test]
    async fn the_requests_deadline_cuts_a_call_its_own_timeout_would_still_wait_for() {
        let t = Arc::new(Silent::default());
        let stripe = StripeGateway::new(t.clone()).with_attempt_timeout(Duration::from_secs(3_600));
        let err = cut(deadline::within(
            deadline_leaving(Duration::from_millis(300)),
            stripe.create(&intent()),
        ))
        .await;
        assert!(matches!(err, Err(GatewayError::TimedOut(_))), "{err:?}");
        assert_eq!(*t.sent.lock().expect("lock"), 1);
    }

    #[tokio::test]
    async fn a_request_without_time_left_sends_nothing() {
        let t = Scripted::new(vec![]);
        let err = deadline::within(
            deadline_leaving(Duration::ZERO),
            StripeGateway::new(t.clone()).cancel(&intent()),
        )
        .await;
        assert!(matches!(err, Err(GatewayError::TimedOut(_))), "{err:?}");
        assert!(t.sent().is_empty());
    }

    #[tokio::test]
    async fn a_resend_the_request_cannot_wait_for_is_not_made() {
        // Less left than the first backoff: the fault is the answer.
        let t = Scripted::new(vec![status(503), status(200)]);
        let err = deadline::within(
            deadline_leaving(BACKOFF / 2),
            StripeGateway::new(t.clone()).cancel(&intent()),
        )
        .await;
        assert!(matches!(err, Err(GatewayError::Unavailable(_))), "{err:?}");
        assert_eq!(t.sent().len(), 1);
    }

    #[tokio::test]
    async fn a_refusal_is_not_resent() {
        let t = Scripted::new(vec![
            status(400),
            ok(serde_json::json!({"id": "pi_1", "status": "requires_action"})),
        ]);
        let err = StripeGateway::new(t.clone()).cancel(&intent()).await;
        assert!(matches!(err, Err(GatewayError::Unavailable(_))), "{err:?}");
        let sent = t.sent();
        assert_eq!(sent.len(), 2, "the cancel once, then a read of the intent");
        assert!(sent[0].path.ends_with("/cancel"));
        assert_eq!(sent[1].path, "/v1/payment_intents/pi_1");
    }

    #[tokio::test]
    async fn a_refused_cancel_says_whether_the_money_is_moving() {
        for (state, expected) in [
            (
                "succeeded",
                Err(GatewayError::Collecting("already collected")),
            ),
            (
                "processing",
                Err(GatewayError::Collecting("started collecting")),
            ),
            ("canceled", Ok(())),
        ] {
            let t = Scripted::new(vec![
                status(400),
                ok(serde_json::json!({"id": "pi_1", "status": state})),
            ]);
            let answer = StripeGateway::new(t.clone()).cancel(&intent()).await;
            assert_eq!(answer, expected, "{state}");
        }
    }

    #[tokio::test]
    async fn a_refund_sends_the_intent_the_amount_and_our_id_under_its_own_key() {
        use crate::domain::{PaymentId, RefundId, RefundParts, RefundStatus};
        let i = intent();
        let refund = Refund::restore(RefundParts {
            id: RefundId::new(),
            payment_id: PaymentId::new(),
            payable: None,
            amount: Money::from_minor(500, Currency::parse("USD").expect("usd")).expect("money"),
            reason: Some("not sent".into()),
            status: RefundStatus::Pending,
            gateway: Some(GatewayId::Stripe),
            gateway_refund_id: None,
            created: OffsetDateTime::UNIX_EPOCH,
            updated: OffsetDateTime::UNIX_EPOCH,
        });
        let t = Scripted::new(vec![
            status(503),
            ok(serde_json::json!({"id": "re_1", "object": "refund", "status": "pending"})),
            Ok(StripeResponse {
                status: 400,
                body: br#"{"error":{"type":"invalid_request_error","code":"charge_already_refunded"}}"#
                    .to_vec(),
            }),
        ]);
        let stripe = StripeGateway::new(t.clone());
        assert_eq!(
            stripe.refund(&i, &refund).await,
            Ok(GatewayRefund {
                id: "re_1".into(),
                status: RefundStatus::Pending,
                refund_id: Some(refund.id().to_string()),
            })
        );
        assert!(matches!(
            stripe.refund(&i, &refund).await,
            Err(GatewayError::Refused(_))
        ));
        let sent = t.sent();
        assert_eq!(sent.len(), 3);
        assert_eq!(sent[0], sent[1], "a fault resends the same request");
        assert_eq!(sent[0].path, "/v1/refunds");
        assert_eq!(
            sent[0].form,
            fields(&[
                ("payment_intent", "pi_1".into()),
                ("amount", "500".into()),
                ("metadata[refund_id]", refund.id().to_string()),
            ])
        );
        assert_eq!(sent[2].idempotency_key, sent[0].idempotency_key);
        assert!(
            sent[0].idempotency_key.contains(&refund.id().to_string()),
            "{}",
            sent[0].idempotency_key
        );
    }

    #[tokio::test]
    async fn the_collected_fee_is_the_charges_balance_transaction_fee() {
        let charged = |fee: i64, currency: &str| {
            ok(
                serde_json::json!({"id": "pi_1", "status": "succeeded", "latest_charge": {
                "id": "ch_1", "balance_transaction": {"id": "txn_1", "fee": fee, "currency": currency}}}),
            )
        };
        let t = Scripted::new(vec![
            charged(355, "usd"),
            charged(0, "usd"),
            charged(355, "eur"),
            ok(serde_json::json!({"id": "pi_1", "status": "succeeded", "latest_charge": null})),
            status(500),
        ]);
        let stripe = StripeGateway::new(t.clone());
        let i = intent();
        assert_eq!(stripe.collected_fee(&i).await, Ok(Some(355)));
        assert_eq!(stripe.collected_fee(&i).await, Ok(Some(0)));
        // Settled in another currency: not a fee in the payment's.
        assert_eq!(stripe.collected_fee(&i).await, Ok(None));
        assert_eq!(stripe.collected_fee(&i).await, Ok(None));
        assert!(matches!(
            stripe.collected_fee(&i).await,
            Err(GatewayError::Unavailable(_))
        ));
        let sent = t.sent();
        assert_eq!(
            sent[0].path,
            "/v1/payment_intents/pi_1?expand%5B%5D=latest_charge.balance_transaction"
        );
    }

    #[test]
    fn a_confirm_after_a_stored_change_is_a_new_attempt() {
        let first = intent();
        let mut later = first.clone();
        later.stored_as(first.version() + 1);
        let key =
            |i: &PaymentIntent, pm: &str| idempotency_key(i, &confirm_operation(i, "confirm", pm));
        assert_eq!(key(&first, "pm_1"), key(&first.clone(), "pm_1"));
        assert_ne!(key(&first, "pm_1"), key(&first, "pm_2"));
        assert_ne!(key(&first, "pm_1"), key(&later, "pm_1"));
    }
}
