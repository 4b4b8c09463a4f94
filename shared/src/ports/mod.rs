//! What the application needs from the outside world, as traits.

pub mod clock;
pub mod idempotency;
pub mod mailer;
pub mod secrets;
pub mod store;

pub use clock::{Clock, SystemClock};
pub use idempotency::{IdempotencyStore, Idempotent, StoredResponse};
pub use mailer::{Mailer, MailerError, OtpEmail};
pub use secrets::{SecretError, Secrets, SecretsProvider};
pub use store::{Expected, Page, Store, StoreError};
