//! An id that no resource can have is read at the edge and answered as the
//! API answers an id naming nothing of the caller's: the same 404 and body.

use std::collections::HashMap;

use lambda_http::{Body, RequestExt};

use super::intents::{IntentPath, UserListInput};
use super::partner::DetailInput;
use super::payment_intents::WebhookInput;
use super::payments::PaymentPath;
use crate::http::{ApiError, FromRequest};

/// Reading `I` from a request whose path names `value` as `name` answers
/// that no `what` of the caller's is found.
fn no_such<I: FromRequest>(name: &str, value: &str, what: &str) {
    let req = lambda_http::http::Request::builder()
        .body(Body::Empty)
        .expect("request")
        .with_path_parameters(HashMap::from([(name.to_owned(), vec![value.to_owned()])]));
    match I::from_request(&req) {
        Ok(_) => panic!("a malformed {what} id was read"),
        Err(e) => assert_eq!(e, ApiError::NotFound(format!("{what} not found"))),
    }
}

#[test]
fn a_malformed_id_is_nothing_of_the_callers() {
    no_such::<IntentPath>("intent_id", "not-an-id", "Payment intent");
    no_such::<PaymentPath>("id", "nope", "Payment");
    no_such::<DetailInput>("id", "nope", "Payment");
    no_such::<UserListInput>("user_id", "", "User");
    // Nor is a gateway this service has never heard of one it takes events from.
    no_such::<WebhookInput>("gatewayId", "nope", "Payment gateway");
}
