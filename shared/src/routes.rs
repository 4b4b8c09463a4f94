//! Every Lambda function, declared once: its binary
//! (`functions/src/bin/<name>.rs`), the handler its `main` serves, what its
//! App needs beyond the table and the secrets, what feeds it, and which
//! partitions of the table it writes, deletes in and lists. From these lines
//! come each `main` (`payment_shared::serve_function!("<name>")`), the
//! handlers of tools that host several functions in one process (the local
//! gateway), the OpenAPI document's paths, and the IAM statements the
//! template test expects. `template.yaml` stays the only route table: it
//! maps routes to binary names.
//!
//! What a line states:
//! - `needs`: `storage` (the table and the secrets, no more), `mail` (the
//!   one function that sends one-time codes), `gateways` (every function
//!   that opens, confirms, cancels or refunds at a payment gateway, or takes
//!   its webhooks; every function that may end a card intent ends it at its
//!   gateway first: the OTP payment intents API's cancel and fail, the Shop
//!   orders API's mark-paid), `delivery_sender` (the deliveries' dispatch and retry pass).
//! - `on`: what feeds a background function (`stream`, `schedule`).
//! - `writes`, `deletes`: the partition key prefixes of its `TableWrite`
//!   and `TableDelete`. Every endpoint that honours Idempotency-Key writes
//!   its claims and lets one go when the answer is transient, so that a
//!   retry runs again; the gateways' webhook claims each event id in the
//!   same ledger. Nothing else is deleted but webhook endpoints, by the
//!   function that deletes them: what expires, TTL removes.
//! - `lists`: the index lists it queries, by their partition key prefixes,
//!   traced from the handler, the use case and the store method.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use lambda_http::{Body, Request, Response};

use crate::app::App;

mod function;
#[macro_use]
mod registry;

pub use function::{FedBy, Function, Needs, same_name};

/// What a handler returns.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Response<Body>> + Send>>;

/// A handler, as `runtime::serve` runs it: the shared `App` and one request.
pub type Handler = Box<dyn Fn(Arc<App>, Request) -> HandlerFuture + Send + Sync>;

/// The line of `binary`.
pub fn function(binary: &str) -> Option<&'static Function> {
    FUNCTIONS.iter().find(|f| f.binary == binary)
}

registry! {
    routed {
        // The service root and the docs.
        "service-root" => surfaces::intents::root, needs storage {},
        "docs-openapi" => surfaces::docs::openapi_json, needs storage {},
        "docs-ui" => surfaces::docs::swagger_ui, needs storage {},

        // The OTP payment intents API.
        "intents-create" => surfaces::intents::create_intent, needs storage {
            writes: ["INTENT#*", "PAYABLE#*", "EVENT#*", "IDEMPOTENCY#*"],
            deletes: ["IDEMPOTENCY#*"],
        },
        "intents-request-otp" => surfaces::intents::request_otp, needs mail {
            writes: ["INTENT#*", "PAYABLE#*", "EVENT#*", "IDEMPOTENCY#*"],
            deletes: ["IDEMPOTENCY#*"],
        },
        "intents-confirm" => surfaces::intents::confirm, needs storage {
            writes: ["INTENT#*", "PAYABLE#*", "PAYMENT#*", "EVENT#*", "IDEMPOTENCY#*"],
            deletes: ["IDEMPOTENCY#*"],
        },
        "intents-get" => surfaces::intents::get_intent, needs storage {},
        "intents-cancel" => surfaces::intents::cancel, needs gateways {
            writes: ["INTENT#*", "PAYABLE#*", "EVENT#*", "IDEMPOTENCY#*"],
            deletes: ["IDEMPOTENCY#*"],
        },
        "intents-fail" => surfaces::intents::fail, needs gateways {
            writes: ["INTENT#*", "PAYABLE#*", "EVENT#*", "IDEMPOTENCY#*"],
            deletes: ["IDEMPOTENCY#*"],
        },
        // list_for_user → list_intents_by_user.
        "intents-list-by-user" => surfaces::intents::list_by_user, needs storage {
            lists: ["USER#*"],
        },
        // list_for_payable → list_intents_by_payable.
        "intents-list-by-registration" => surfaces::intents::list_by_registration, needs storage {
            lists: ["PAYABLE#*"],
        },

        // The Payables API.
        "payables-put" => surfaces::payables::put, needs storage {
            writes: ["PAYABLE#*", "IDEMPOTENCY#*"],
            deletes: ["IDEMPOTENCY#*"],
        },
        "payables-get" => surfaces::payables::get, needs storage {},

        // The Payments API.
        "payments-create" => surfaces::payments::create, needs storage {
            writes: ["INTENT#*", "PAYABLE#*", "PAYMENT#*", "EVENT#*", "IDEMPOTENCY#*"],
            deletes: ["IDEMPOTENCY#*"],
        },
        // list_mine → list_payments_by_user.
        "payments-list" => surfaces::payments::list_mine, needs storage {
            lists: ["USER#*"],
        },
        "payments-get" => surfaces::payments::get, needs storage {},
        // list_for_order → list_payments_by_payable.
        "payments-list-by-order" => surfaces::payments::list_for_order, needs storage {
            lists: ["PAYABLE#*"],
        },

        // The Refunds API.
        "refunds-create" => surfaces::refunds::create, needs gateways {
            writes: [
                "PAYMENT#*", "PAYABLE#*", "REFUND#*", "GATEWAY_REFUND#*", "EVENT#*",
                "IDEMPOTENCY#*",
            ],
            deletes: ["IDEMPOTENCY#*"],
        },
        // refunds::list → list_refunds.
        "refunds-list" => surfaces::refunds::list, needs storage {
            lists: ["REFUNDS_OF#*"],
        },

        // The Shop orders API.
        "shop-create-intent" => surfaces::shop::create_intent, needs gateways {
            writes: ["INTENT#*", "PAYABLE#*", "GATEWAY_INTENT#*", "EVENT#*", "IDEMPOTENCY#*"],
            deletes: ["IDEMPOTENCY#*"],
        },
        // mark_paid: the order's PENDING payments (list_payments_by_payable),
        // and for an order paid already, the intent that paid it
        // (list_intents_by_payable).
        "shop-mark-paid" => surfaces::shop::mark_paid, needs gateways {
            writes: ["INTENT#*", "PAYABLE#*", "PAYMENT#*", "EVENT#*", "IDEMPOTENCY#*"],
            deletes: ["IDEMPOTENCY#*"],
            lists: ["PAYABLE#*"],
        },

        // The PaymentIntents API.
        // list_all → list_all_intents.
        "payment-intents-list" => surfaces::payment_intents::list, needs storage {
            lists: ["INTENTS#*"],
        },
        "payment-intents-get" => surfaces::payment_intents::get, needs storage {},
        // list_for_customer → list_intents_by_user.
        "payment-intents-list-by-customer" => surfaces::payment_intents::list_by_customer, needs storage {
            lists: ["USER#*"],
        },
        "payment-intents-create" => surfaces::payment_intents::create, needs gateways {
            writes: ["INTENT#*", "PAYABLE#*", "GATEWAY_INTENT#*", "EVENT#*", "IDEMPOTENCY#*"],
            deletes: ["IDEMPOTENCY#*"],
        },
        "payment-intents-confirm" => surfaces::payment_intents::confirm, needs gateways {
            writes: ["INTENT#*", "PAYABLE#*", "PAYMENT#*", "EVENT#*", "IDEMPOTENCY#*"],
            deletes: ["IDEMPOTENCY#*"],
        },
        "payment-intents-cancel" => surfaces::payment_intents::cancel, needs gateways {
            writes: ["INTENT#*", "PAYABLE#*", "EVENT#*", "IDEMPOTENCY#*"],
            deletes: ["IDEMPOTENCY#*"],
        },
        // The gateways' webhook: what it hears of an intent (paid, failed) and
        // of a refund; each event id is claimed in the idempotency ledger.
        "payment-intents-webhook" => surfaces::payment_intents::webhook, needs gateways {
            writes: [
                "INTENT#*", "PAYABLE#*", "PAYMENT#*", "EVENT#*", "REFUND#*", "GATEWAY_REFUND#*",
                "IDEMPOTENCY#*",
            ],
            deletes: ["IDEMPOTENCY#*"],
        },

        // The Partner API: it reads; the one item it writes is a used
        // signature. payment_detail lists every payment of the payment's payable.
        "partner-payment-detail" => surfaces::partner::payment_detail, needs storage {
            writes: ["REPLAY#*"],
            lists: ["PAYABLE#*"],
        },

        // The Events API: by object, by type, or every event.
        "events-list" => surfaces::events::list, needs storage {
            lists: ["EVENTS_OF#*", "EVENTS_TYPED#*", "EVENTS#*"],
        },

        // The Webhook endpoints API: only what makes and changes endpoints
        // writes them; the one that deletes them may only delete them.
        "webhook-endpoints-put" => surfaces::webhook_endpoints::put, needs storage {
            writes: ["WEBHOOK_ENDPOINTS", "IDEMPOTENCY#*"],
            deletes: ["IDEMPOTENCY#*"],
        },
        "webhook-endpoints-get" => surfaces::webhook_endpoints::get, needs storage {},
        "webhook-endpoints-delete" => surfaces::webhook_endpoints::delete, needs storage {
            writes: ["IDEMPOTENCY#*"],
            deletes: ["IDEMPOTENCY#*", "WEBHOOK_ENDPOINTS"],
        },
        "webhook-endpoints-rotate-secret" => surfaces::webhook_endpoints::rotate_secret, needs storage {
            writes: ["WEBHOOK_ENDPOINTS", "IDEMPOTENCY#*"],
            deletes: ["IDEMPOTENCY#*"],
        },
        // webhook_endpoints::deliveries → list_deliveries.
        "webhook-endpoints-deliveries" => surfaces::webhook_endpoints::deliveries, needs storage {
            lists: ["WEBHOOK_DELIVERIES#*"],
        },
    }
    background {
        // The webhook deliverers write only the deliveries' lanes.
        "webhook-dispatch" => surfaces::deliveries::dispatch, on stream, needs delivery_sender {
            writes: ["WEBHOOK_LANE#*"],
        },
        // retry_due → due_deliveries_to, stray_due_deliveries.
        "webhook-retry" => surfaces::deliveries::retry, on schedule, needs delivery_sender {
            writes: ["WEBHOOK_LANE#*"],
            lists: ["DELIVERIES_DUE#*"],
        },
        // The refund pass finishes what refunds-create began: the refund, its
        // gateway's name for it, its payment and payable sums, and their
        // events. finish_unsent → unsent_refunds.
        "refunds-finish-unsent" => surfaces::refund_pass::run, on schedule, needs gateways {
            writes: ["REFUND#*", "GATEWAY_REFUND#*", "PAYMENT#*", "PAYABLE#*", "EVENT#*"],
            lists: ["REFUNDS_UNSENT"],
        },
    }
}
