//! payment-service: one domain, many API dialects.
//!
//! Layers, each knowing only those below it:
//! `domain` → `ports` → `adapters` → `app` (use cases) → `surfaces` (wire formats).

pub mod adapters;
pub mod app;
pub mod auth;
pub mod config;
#[cfg(any(test, feature = "contract-tests"))]
pub mod contract;
pub mod domain;
pub mod http;
pub mod ports;
pub mod routes;
pub mod runtime;
pub mod surfaces;
pub mod telemetry;
