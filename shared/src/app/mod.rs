//! Use cases: the domain's rules applied through the ports, independent of wire format.

mod container;
pub mod deliveries;
mod error;
pub mod events;
pub mod gateway_events;
pub mod intents;
pub mod partner;
pub mod payables;
pub mod payment_intents;
pub mod payments;
pub mod refunds;
mod retry;
pub mod shop;
pub mod unsent_refunds;
pub mod webhook_endpoints;

#[cfg(test)]
mod tests;

pub use container::App;
pub(crate) use container::NoWebhooks;
pub use error::AppError;
