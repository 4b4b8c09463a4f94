use time::OffsetDateTime;

use crate::domain::{Email, Money, OtpCode};

/// Everything the OTP email says. The code is only exposed to the mail body.
#[derive(Debug, Clone)]
pub struct OtpEmail {
    pub to: Email,
    pub code: OtpCode,
    pub amount: Money,
    /// What is being paid, in words ("Registration REG-1: Summer camp").
    pub purpose: String,
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, thiserror::Error)]
#[error("email could not be sent: {0}")]
pub struct MailerError(pub String);

#[async_trait::async_trait]
pub trait Mailer: Send + Sync {
    async fn send_otp(&self, mail: &OtpEmail) -> Result<(), MailerError>;
}
