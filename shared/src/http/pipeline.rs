//! The one path every request takes: size limit, caller, idempotency, input,
//! the endpoint's work, its error format, one log line; all of it within
//! the invocation's deadline, which bounds the gateway calls on the way.
//!
//! An endpoint declares its error format and whether it is idempotent; its
//! caller type says how the caller is authenticated, its input type how the
//! request is read. The endpoint's own function only does the work.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};

use super::callers::Authenticate;
use super::idempotency::{Claim, claim, settle};
use super::input::FromRequest;
use super::{ApiError, ErrorFormat};
use crate::app::App;
use crate::ports::deadline;

/// Request bodies above this are refused before anything else is read: a
/// 128 MB function must not spend its memory on one request.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What an endpoint declares about itself.
pub struct Endpoint {
    /// How this API renders its errors.
    pub errors: &'static dyn ErrorFormat,
    /// Honours `Idempotency-Key` (every POST or PUT that creates or changes something).
    pub idempotent: bool,
}

impl Endpoint {
    /// A read answering errors as `errors` does: nothing to replay.
    pub const fn read(errors: &'static dyn ErrorFormat) -> Self {
        Self {
            errors,
            idempotent: false,
        }
    }

    /// A change answering errors as `errors` does, honouring `Idempotency-Key`.
    pub const fn change(errors: &'static dyn ErrorFormat) -> Self {
        Self {
            errors,
            idempotent: true,
        }
    }

    /// Runs `work` for `req` as this endpoint: authenticated as `C`, its input read as `I`.
    pub async fn run<C, I, F, Fut>(&self, app: Arc<App>, req: Request, work: F) -> Response<Body>
    where
        C: Authenticate,
        I: FromRequest,
        F: FnOnce(Arc<App>, C, I) -> Fut,
        Fut: Future<Output = Result<Response<Body>, ApiError>>,
    {
        let started = Instant::now();
        let route = route(&req);
        let request_id = request_id(&req);
        // Lambda's deadline for this invocation (the local stack's, from the
        // template's Timeout): gateway calls end early enough for the answer
        // to be stored and the Idempotency-Key settled.
        let ends = req.lambda_context_ref().map(|context| context.deadline);
        let response = deadline::within(ends, self.answer(app, req, &request_id, work)).await;
        tracing::info!(
            route = %route,
            status = response.status().as_u16(),
            latency_ms = started.elapsed().as_millis() as u64,
            request_id = %request_id,
            "request"
        );
        response
    }

    async fn answer<C, I, F, Fut>(
        &self,
        app: Arc<App>,
        req: Request,
        request_id: &str,
        work: F,
    ) -> Response<Body>
    where
        C: Authenticate,
        I: FromRequest,
        F: FnOnce(Arc<App>, C, I) -> Fut,
        Fut: Future<Output = Result<Response<Body>, ApiError>>,
    {
        if req.body().len() > MAX_BODY_BYTES {
            return self.fail(
                &ApiError::PayloadTooLarge(format!(
                    "Request body exceeds {} KiB",
                    MAX_BODY_BYTES / 1024
                )),
                request_id,
            );
        }
        let caller = match C::authenticate(&app, &req).await {
            Ok(caller) => caller,
            Err(e) => return self.fail(&e, request_id),
        };
        let claimed = if self.idempotent {
            match claim(&app, &req, &caller.scope()).await {
                Ok(Claim::Run(claimed)) => claimed,
                Ok(Claim::Answered(response)) => return response,
                Err(e) => return self.fail(&e, request_id),
            }
        } else {
            None
        };
        let outcome = match I::from_request(&req) {
            Ok(input) => work(app.clone(), caller, input).await,
            Err(e) => Err(e),
        };
        let transient = matches!(&outcome, Err(e) if e.is_transient());
        let response = outcome.unwrap_or_else(|e| self.fail(&e, request_id));
        match claimed {
            Some(claimed) => settle(&app, claimed, response, transient).await,
            None => response,
        }
    }

    /// The answer to a failed request, in this API's format; what failed on
    /// the service's side is logged here, the one place errors are logged.
    fn fail(&self, error: &ApiError, request_id: &str) -> Response<Body> {
        if let Some(cause) = error.cause() {
            tracing::error!(detail = %cause.detail, request_id = %request_id, "{}", cause.what);
        }
        self.errors.render_for(error, request_id)
    }
}

/// `POST /payment/intents` as API Gateway names the route; the method and path elsewhere.
fn route(req: &Request) -> String {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) if ctx.route_key.is_some() => {
            ctx.route_key.clone().unwrap_or_default()
        }
        // Outside API Gateway the path may carry ids, never secrets: only the method is kept.
        _ => req.method().as_str().to_owned(),
    }
}

/// API Gateway's id of this request (empty outside API Gateway).
pub fn request_id(req: &Request) -> String {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone().unwrap_or_default(),
        _ => String::new(),
    }
}
