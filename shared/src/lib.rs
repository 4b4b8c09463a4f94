//! payment-service: one domain, many API dialects.
//!
//! Layers, each knowing only those below it:
//! `domain` → `ports` → `adapters` → `app` (use cases, and the `App` of ports
//! they run against) → `surfaces` (wire formats) → `runtime` (the `App` built
//! from a function's environment).

pub mod adapters;
pub mod app;
pub mod auth;
pub mod config;
#[cfg(any(test, feature = "testing"))]
pub mod contract;
pub mod domain;
pub mod http;
#[cfg(test)]
mod layers_test;
pub mod ports;
pub mod routes;
pub mod runtime;
pub mod surfaces;
pub mod telemetry;
#[cfg(test)]
mod versions_test;
