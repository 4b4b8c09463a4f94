//! The OTP email through Amazon SES.

use aws_sdk_ses::Client;
use aws_sdk_ses::types::{Body, Content, Destination, Message};
use time::format_description::well_known::Rfc2822;

use crate::ports::{Mailer, MailerError, OtpEmail};

pub struct SesMailer {
    client: Client,
    sender: String,
}

impl SesMailer {
    pub fn new(client: Client, sender: impl Into<String>) -> Self {
        Self {
            client,
            sender: sender.into(),
        }
    }
}

fn content(text: String) -> Result<Content, MailerError> {
    Content::builder()
        .data(text)
        .charset("UTF-8")
        .build()
        .map_err(|e| MailerError(e.to_string()))
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Subject, plain text and HTML of the OTP email.
pub fn render(mail: &OtpEmail) -> (String, String, String) {
    let amount = format!("{} {}", mail.amount, mail.amount.currency());
    let expires = mail.expires_at.format(&Rfc2822).unwrap_or_default();
    let subject = format!("Your payment code for {amount}");
    let text = format!(
        "Your one-time code is {code}\n\nIt confirms a payment of {amount} for {purpose}.\n\
         The code expires at {expires} (in 5 minutes).\n\n\
         If you did not start this payment, ignore this email: nothing will be charged.\n",
        code = mail.code.expose(),
        purpose = mail.purpose,
    );
    let html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif\">\
         <p>Your one-time code is</p><p style=\"font-size:28px;letter-spacing:6px\"><strong>{code}</strong></p>\
         <p>It confirms a payment of <strong>{amount}</strong> for {purpose}.</p>\
         <p>The code expires at {expires} (in 5 minutes).</p>\
         <p style=\"color:#666\">If you did not start this payment, ignore this email: nothing will be charged.</p>\
         </body></html>",
        code = mail.code.expose(),
        amount = escape_html(&amount),
        purpose = escape_html(&mail.purpose),
        expires = escape_html(&expires),
    );
    (subject, text, html)
}

#[async_trait::async_trait]
impl Mailer for SesMailer {
    #[tracing::instrument(skip_all, err)]
    async fn send_otp(&self, mail: &OtpEmail) -> Result<(), MailerError> {
        let (subject, text, html) = render(mail);
        let message = Message::builder()
            .subject(content(subject)?)
            .body(
                Body::builder()
                    .text(content(text)?)
                    .html(content(html)?)
                    .build(),
            )
            .build();
        self.client
            .send_email()
            .source(&self.sender)
            .destination(
                Destination::builder()
                    .to_addresses(mail.to.as_str())
                    .build(),
            )
            .message(message)
            .send()
            .await
            .map_err(|e| {
                MailerError(without_addresses(&aws_sdk_ses::Error::from(e).to_string()))
            })?;
        Ok(())
    }
}

/// SES names the identities it refused ("… failed the check: a@b.example"): the
/// error is logged, and no address may reach a log.
fn without_addresses(message: &str) -> String {
    message
        .split(' ')
        .map(|word| {
            if word.contains('@') {
                "<address>"
            } else {
                word
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::without_addresses;

    #[test]
    fn errors_keep_no_address() {
        let scrubbed = without_addresses(
            "MessageRejected: Email address is not verified. The following identities failed \
             the check in region US-EAST-1: payer@example.com, sender@example.com",
        );
        assert!(!scrubbed.contains('@'), "{scrubbed}");
        assert!(scrubbed.starts_with("MessageRejected: Email address is not verified."));
    }
}
