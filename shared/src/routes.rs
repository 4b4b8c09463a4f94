//! Every Lambda binary (`functions/src/bin/<name>.rs`) and the handler its
//! `main` serves, for tools that host several functions in one process (the
//! local gateway). `template.yaml` stays the only route table: it maps routes
//! to binary names; this maps binary names to handlers.
//!
//! Two lists: [`BINARIES`] behind API Gateway (an HTTP request in, a
//! response out), and [`BACKGROUND_BINARIES`], fed by AWS itself (the
//! table's stream, a schedule), which the local stack runs on its own.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use lambda_http::{Body, Request, Response};

use crate::app::App;
use crate::surfaces;

/// What a handler returns.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Response<Body>> + Send>>;

/// A handler, as `runtime::serve` runs it: the shared `App` and one request.
pub type Handler = Box<dyn Fn(Arc<App>, Request) -> HandlerFuture + Send + Sync>;

macro_rules! registry {
    ($($binary:literal => $($segment:ident)::+),+ $(,)?) => {
        /// The name of every binary in `functions/src/bin/`.
        pub const BINARIES: &[&str] = &[$($binary),+];

        /// The handler `functions/src/bin/<binary>.rs` serves.
        pub fn handler(binary: &str) -> Option<Handler> {
            match binary {
                $($binary => {
                    let handler: Handler = Box::new(|app: Arc<App>, req: Request| -> HandlerFuture {
                        Box::pin($($segment)::+(app, req))
                    });
                    Some(handler)
                })+
                _ => None,
            }
        }

        /// The handler's path as written here (`surfaces::intents::root`),
        /// so a test can check it against the path the binary's `main` serves.
        pub fn handler_path(binary: &str) -> Option<&'static str> {
            match binary {
                $($binary => Some(stringify!($($segment)::+)),)+
                _ => None,
            }
        }
    };
}

registry! {
    "service-root" => surfaces::intents::root,
    "docs-openapi" => surfaces::docs::openapi_json,
    "docs-ui" => surfaces::docs::swagger_ui,
    "intents-create" => surfaces::intents::create_intent,
    "intents-request-otp" => surfaces::intents::request_otp,
    "intents-confirm" => surfaces::intents::confirm,
    "intents-get" => surfaces::intents::get_intent,
    "intents-cancel" => surfaces::intents::cancel,
    "intents-fail" => surfaces::intents::fail,
    "intents-list-by-user" => surfaces::intents::list_by_user,
    "intents-list-by-registration" => surfaces::intents::list_by_registration,
    "payables-put" => surfaces::payables::put,
    "payables-get" => surfaces::payables::get,
    "payments-create" => surfaces::payments::create,
    "payments-list" => surfaces::payments::list_mine,
    "payments-get" => surfaces::payments::get,
    "payments-list-by-order" => surfaces::payments::list_for_order,
    "refunds-create" => surfaces::refunds::create,
    "refunds-list" => surfaces::refunds::list,
    "shop-create-intent" => surfaces::shop::create_intent,
    "shop-mark-paid" => surfaces::shop::mark_paid,
    "payment-intents-list" => surfaces::payment_intents::list,
    "payment-intents-get" => surfaces::payment_intents::get,
    "payment-intents-list-by-customer" => surfaces::payment_intents::list_by_customer,
    "payment-intents-create" => surfaces::payment_intents::create,
    "payment-intents-confirm" => surfaces::payment_intents::confirm,
    "payment-intents-cancel" => surfaces::payment_intents::cancel,
    "payment-intents-webhook" => surfaces::payment_intents::webhook,
    "partner-payment-detail" => surfaces::partner::payment_detail,
    "events-list" => surfaces::events::list,
    "webhook-endpoints-put" => surfaces::webhook_endpoints::put,
    "webhook-endpoints-get" => surfaces::webhook_endpoints::get,
    "webhook-endpoints-delete" => surfaces::webhook_endpoints::delete,
    "webhook-endpoints-rotate-secret" => surfaces::webhook_endpoints::rotate_secret,
    "webhook-endpoints-deliveries" => surfaces::webhook_endpoints::deliveries,
}

/// The binaries no HTTP request reaches, each with the `runtime` entry its
/// `main` calls and the handler it serves: the webhook dispatcher (the
/// table's DynamoDB Stream), the webhook retry pass and the refund pass
/// (schedules).
pub const BACKGROUND_BINARIES: &[(&str, &str, &str)] = &[
    (
        "webhook-dispatch",
        "serve_deliveries",
        "surfaces::deliveries::dispatch",
    ),
    (
        "webhook-retry",
        "serve_deliveries",
        "surfaces::deliveries::retry",
    ),
    (
        "refunds-finish-unsent",
        "serve_refund_pass",
        "surfaces::refund_pass::run",
    ),
];
