//! An id that no resource can have is read at the edge and answered as the
//! API answers an id naming nothing of the caller's: the same 404 and body.

use std::collections::HashMap;

use lambda_http::{Body, Request, RequestExt};

use crate::http::{ApiError, FromRequest};

fn with_path(name: &str, value: &str) -> Request {
    lambda_http::http::Request::builder()
        .body(Body::Empty)
        .expect("request")
        .with_path_parameters(HashMap::from([(name.to_owned(), vec![value.to_owned()])]))
}

fn refused<I: FromRequest>(req: &Request) -> ApiError {
    match I::from_request(req) {
        Ok(_) => panic!("a malformed id was read"),
        Err(e) => e,
    }
}

fn not_found(what: &str) -> ApiError {
    ApiError::NotFound(format!("{what} not found"))
}

#[test]
fn a_malformed_intent_id_is_no_intent_of_the_callers() {
    let req = with_path("intent_id", "not-an-id");
    assert_eq!(
        refused::<super::intents::IntentPath>(&req),
        not_found("Payment intent")
    );
}

#[test]
fn a_malformed_payment_id_is_no_payment_of_the_callers() {
    let req = with_path("id", "nope");
    assert_eq!(
        refused::<super::payments::PaymentPath>(&req),
        not_found("Payment")
    );
    assert_eq!(
        refused::<super::partner::DetailInput>(&req),
        not_found("Payment")
    );
}

#[test]
fn a_malformed_user_id_is_no_user_the_caller_may_list() {
    let req = with_path("user_id", "");
    assert_eq!(
        refused::<super::intents::UserListInput>(&req),
        not_found("User")
    );
}
