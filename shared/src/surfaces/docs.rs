//! The docs: the OpenAPI 3.1 document, generated from the handlers' own
//! annotations and wire types (every routed function's, as `routes` lists
//! them), and a Swagger UI page for it.

use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{intents, partner, payment_intents};
use crate::app::App;
use crate::http::{Anonymous, Endpoint, json};

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        );
        // A partner sends all three; x-signature is hex HMAC-SHA256(client
        // secret, METHOD\nPATH\nTIMESTAMP\nhex(SHA-256(body))).
        for (name, header, description) in [
            (
                "partner_client_id",
                "x-client-id",
                "The partner's client id",
            ),
            (
                "partner_timestamp",
                "x-timestamp",
                "Unix seconds, within 300 s of the service's clock",
            ),
            (
                "partner_signature",
                "x-signature",
                "Hex HMAC-SHA256 with the client secret of METHOD\\nPATH\\nTIMESTAMP\\nhex(SHA-256(body)); PATH as sent, with ?query; each signature is accepted once",
            ),
        ] {
            components.add_security_scheme(
                name,
                SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                    header,
                    description,
                ))),
            );
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "payment-service", description = "Serverless payment intents on AWS: every public route."),
    components(schemas(
        intents::wire::ErrorDetail,
        intents::wire::HTTPValidationError,
        intents::wire::ValidationError,
        intents::wire::LocItem,
        super::message::MessageError,
        super::message::ValidationFailed,
        super::message::FieldMessage,
        payment_intents::problems::ProblemDetails,
        payment_intents::problems::ValidationProblemDetails,
        partner::PartnerError,
    )),
    modifiers(&SecuritySchemes),
    tags(
        (name = "payment", description = "Payment Service: intents confirmed by an emailed one-time code"),
        (name = "payments", description = "Payments recorded against orders"),
        (name = "refunds", description = "Refunds: money given back on a completed payment, through its gateway or recorded by staff"),
        (name = "shop", description = "Shop orders: card payment intents and the payment system's mark-paid"),
        (name = "PaymentIntents", description = "PaymentIntents API: card payment intents through a gateway, staff reads and gateway webhooks"),
        (name = "partner", description = "Partner API: a business's payments with fees and settlement, over signed requests"),
        (name = "service", description = "Service API for trusted backends (X-API-Key)"),
        (name = "events", description = "Events API: what changed, newest first, in Stripe's event shape (X-API-Key)"),
        (name = "webhooks", description = "Webhook endpoints for trusted backends (X-API-Key): every event POSTed, signed (Stripe-Signature), retried with backoff for 3 days, in order per object"),
        (name = "docs", description = "This document"),
    )
)]
pub struct ApiDoc;

/// The document as JSON: what is said here of the whole API, with the
/// operations of every routed function in `routes` (each handler's own
/// annotation).
pub fn document() -> serde_json::Value {
    let mut doc = ApiDoc::openapi();
    doc.merge(crate::routes::RoutedPaths::openapi());
    serde_json::to_value(doc).unwrap_or_default()
}

/// This reference, as an OpenAPI 3.1 document.
#[utoipa::path(get, path = "/openapi.json", tag = "docs", operation_id = "openapi",
    responses((status = 200, description = "OpenAPI 3.1 document of every route", content_type = "application/json")))]
pub async fn openapi_json(app: Arc<App>, req: Request) -> Response<Body> {
    DOCS.run(app, req, |_, _: Anonymous, ()| async {
        Ok(json(200, &document()))
    })
    .await
}

/// The docs answer every error as the other `{"message"}` APIs do.
const DOCS: Endpoint = Endpoint {
    errors: &super::message::MessageErrors,
    idempotent: false,
};

/// Swagger UI, pinned to one release whose files the browser checks against
/// their digests (subresource integrity), so a changed CDN file is never run
/// next to a pasted token. Pasted tokens stay in the page: no
/// `persistAuthorization`, nothing in localStorage.
const SWAGGER_UI: &str = r##"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>payment-service - Swagger UI</title>
  <link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5.35.0/swagger-ui.css"
        integrity="sha384-WlYgdmXYOOBWL5apwjDEZwN+U3HmXSSu5R6V5aGxEcf7z+KuRNwBhoxKVN1i3D5I" crossorigin="anonymous">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5.35.0/swagger-ui-bundle.js"
          integrity="sha384-gjRm0bEPMeTmMh5jT2cHccIwCUZSTd8YC+j0d0sXw0MdGEfScduGpSyF3ZSSLkX9" crossorigin="anonymous"></script>
  <script>
    window.ui = SwaggerUIBundle({ url: "openapi.json", dom_id: "#swagger-ui", deepLinking: true });
  </script>
</body>
</html>
"##;

/// This reference, as a Swagger UI page.
#[utoipa::path(get, path = "/docs", tag = "docs", operation_id = "docs",
    responses((status = 200, description = "Swagger UI page for /openapi.json", content_type = "text/html")))]
pub async fn swagger_ui(app: Arc<App>, req: Request) -> Response<Body> {
    DOCS.run(app, req, |_, _: Anonymous, ()| async {
        let mut response = Response::new(Body::Text(SWAGGER_UI.to_owned()));
        response.headers_mut().insert(
            "content-type",
            lambda_http::http::HeaderValue::from_static("text/html; charset=utf-8"),
        );
        Ok(response)
    })
    .await
}
