//! The clock and the secrets a test's App runs with: a clock that moves only
//! when the test moves it, and secrets the test chose when it built the App.

use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

use crate::ports::{Clock, SecretError, Secrets, SecretsProvider};

/// A clock the test moves by hand.
pub struct TestClock(Mutex<OffsetDateTime>);

impl TestClock {
    pub fn at(start: OffsetDateTime) -> Self {
        Self(Mutex::new(start))
    }

    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Hands out the same secrets on every load.
pub struct FixedSecrets(pub Secrets);

#[async_trait::async_trait]
impl SecretsProvider for FixedSecrets {
    async fn load(&self) -> Result<Secrets, SecretError> {
        Ok(self.0.clone())
    }
}
