//! Use cases on the in-memory adapter: a mailer that keeps what it sends, a
//! clock the test moves, and fixed secrets. No server runs.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod closing;
mod deliveries;
mod events;
mod fees;
mod gateway_events;
mod intents;
mod partner;
mod payables;
mod payment_intents;
mod payments;
mod refunds;
mod shop;
mod unsent_refunds;
mod webhook_endpoints;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use secrecy::SecretString;
use time::OffsetDateTime;

use crate::adapters::faulty::{Fault, FaultyStores};
use crate::adapters::memory::MemoryStore;
pub use crate::adapters::memory::{FixedSecrets, TestClock};
use crate::app::App;
use crate::auth::{Caller, Role};
use crate::config::{Config, JwtConfig};
use crate::contract::{new_order, new_user};
use crate::domain::{OtpCode, Payable, PayableRef, UserId};
use crate::ports::{Clock, Mailer, MailerError, OtpEmail, PayableWrite, Secrets, Stores};

/// Keeps every mail instead of sending it.
#[derive(Default)]
pub struct Outbox(Mutex<Vec<OtpEmail>>);

impl Outbox {
    pub fn sent(&self) -> Vec<OtpEmail> {
        self.0.lock().expect("outbox").clone()
    }

    pub fn last_code(&self) -> OtpCode {
        self.sent().last().expect("a code was mailed").code.clone()
    }
}

#[async_trait::async_trait]
impl Mailer for Outbox {
    async fn send_otp(&self, mail: &OtpEmail) -> Result<(), MailerError> {
        self.0.lock().expect("outbox").push(mail.clone());
        Ok(())
    }
}

/// What the test gateway signs its webhook events with here.
pub const WEBHOOK_SECRET: &str = "unit-test-webhook-secret";

/// The secrets every App here is built with.
pub(super) fn unit_secrets() -> Secrets {
    Secrets {
        jwt_key: SecretString::from("unit-test-jwt-key".to_owned()),
        api_key_hashes: vec![],
        partner_clients: HashMap::new(),
        webhook_secrets: HashMap::from([(
            "test".to_owned(),
            SecretString::from(WEBHOOK_SECRET.to_owned()),
        )]),
        otp_pepper: SecretString::from("unit-test-pepper".to_owned()),
        cursor_key: None,
        stripe_secret_key: None,
    }
}

pub struct TestApp {
    pub app: App,
    pub outbox: Arc<Outbox>,
    pub clock: Arc<TestClock>,
    /// The ports without any injected fault: what really was stored.
    pub direct: Stores,
}

impl TestApp {
    pub fn new() -> Self {
        Self::with_faults(vec![])
    }

    /// The App's storage fails as `faults` say; `direct` still reads it plainly.
    pub fn with_faults(faults: Vec<Fault>) -> Self {
        let outbox = Arc::new(Outbox::default());
        let start = OffsetDateTime::from_unix_timestamp(1_760_000_000).expect("time");
        let clock = Arc::new(TestClock::at(start));
        let config = Config {
            table_name: "unused".into(),
            sender_email: "payments@example.com".into(),
            secret_arn: None,
            local: true,
            fees: crate::domain::FeeSchedule::standard(),
            intent_ttl: crate::config::DEFAULT_INTENT_TTL,
            stripe_api_base: crate::adapters::stripe::DEFAULT_API_BASE.into(),
            enable_test_gateway: true,
            default_gateway: crate::domain::GatewayId::Test,
            webhook_retry_base: crate::config::LOCAL_WEBHOOK_RETRY_BASE,
            jwt: JwtConfig {
                algorithm: jsonwebtoken::Algorithm::HS256,
                issuer: None,
                audience: None,
            },
        };
        let direct = Stores::sharing(Arc::new(MemoryStore::new()));
        let app = App::new(
            config,
            FaultyStores::new(direct.clone(), faults).stores(),
            outbox.clone(),
            Arc::new(FixedSecrets(unit_secrets())),
            clock.clone(),
        );
        Self {
            app,
            outbox,
            clock,
            direct,
        }
    }

    /// The same storage and clock without faults: a fresh container after
    /// this one died.
    pub fn restarted(&self) -> Self {
        let app = App::new(
            self.app.config.clone(),
            self.direct.clone(),
            self.outbox.clone(),
            Arc::new(FixedSecrets(unit_secrets())),
            self.clock.clone(),
        );
        Self {
            app,
            outbox: self.outbox.clone(),
            clock: self.clock.clone(),
            direct: self.direct.clone(),
        }
    }

    /// A PENDING cash payment of `amount` that `payer` records on `order`.
    pub async fn pending(
        &self,
        payer: &Caller,
        order: &PayableRef,
        amount: &str,
    ) -> Result<crate::domain::Payment, crate::app::AppError> {
        crate::app::payments::record(
            &self.app,
            &crate::auth::Actor::Person(payer.clone()),
            order,
            stated(amount),
            crate::domain::PaymentMethod::Cash,
            crate::domain::PaymentStatus::Pending,
        )
        .await
    }

    /// An order of `minor` US cents owned by `owner`, stored.
    pub async fn order(&self, owner: &Caller, minor: i64) -> Payable {
        let order = new_order(&owner.user_id, minor);
        match self
            .app
            .payables
            .upsert_payable(&order, self.clock.now())
            .await
            .expect("store")
        {
            PayableWrite::Written { payable, .. } => *payable,
            other => panic!("{other:?}"),
        }
    }

    pub fn clock_now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    pub async fn payable(&self, p: &PayableRef) -> Payable {
        self.app
            .payables
            .get_payable(p)
            .await
            .expect("read")
            .expect("exists")
    }
}

/// An amount as a caller states it.
pub fn stated(amount: &str) -> crate::domain::StatedAmount {
    crate::domain::StatedAmount::parse(amount).expect("a stated amount")
}

pub fn person(roles: &[Role]) -> Caller {
    let user: UserId = new_user();
    Caller {
        email: Some(crate::domain::Email::parse(&format!("{user}@example.com")).expect("email")),
        user_id: user,
        roles: roles.to_vec(),
    }
}
