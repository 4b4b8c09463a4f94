//! One call a function waited on, and its type as the floors count it: a
//! DynamoDB operation (X-Amz-Target), with its item count where the floor
//! depends on it (a TransactWriteItems of 7 items is not one of 3).

use std::fmt;
use std::time::Instant;

/// A call's type: what its floor is measured per.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CallKind {
    /// `GetItem`, `TransactWriteItems`, …; `SES SendEmail`, `POST /v1/…` for
    /// the other services.
    pub operation: String,
    /// The items of a TransactWriteItems; 1 for every other call.
    pub items: usize,
}

impl fmt::Display for CallKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.operation == "TransactWriteItems" {
            write!(f, "{} [{}]", self.operation, self.items)
        } else {
            f.write_str(&self.operation)
        }
    }
}

/// One call, from sending it to its answer.
#[derive(Debug, Clone)]
pub struct Call {
    pub kind: CallKind,
    pub start: Instant,
    pub end: Instant,
}

/// The type of a DynamoDB request from its `X-Amz-Target`
/// (`DynamoDB_20120810.GetItem`) and JSON body.
pub fn dynamodb_kind(target: Option<&str>, body: &[u8]) -> CallKind {
    let operation = target
        .map(|t| t.rsplit('.').next().unwrap_or(t).to_owned())
        .unwrap_or_else(|| "?".into());
    let items = if operation == "TransactWriteItems" {
        serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v["TransactItems"].as_array().map(Vec::len))
            .unwrap_or(1)
    } else {
        1
    };
    CallKind { operation, items }
}

/// The type of an SES request: the query protocol's `Action` (v1), else the
/// method and path (v2's REST routes).
pub fn ses_kind(method: &str, path: &str, body: &[u8]) -> CallKind {
    let action = std::str::from_utf8(body).ok().and_then(|b| {
        b.split('&')
            .find_map(|pair| pair.strip_prefix("Action="))
            .map(str::to_owned)
    });
    CallKind {
        operation: format!(
            "SES {}",
            action.unwrap_or_else(|| format!("{method} {path}"))
        ),
        items: 1,
    }
}

/// Any other service's request (a payment gateway's API): method and path.
pub fn http_kind(service: &str, method: &str, path: &str) -> CallKind {
    CallKind {
        operation: format!("{service} {method} {path}"),
        items: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamodb_calls_are_typed_by_target_and_transactions_by_items() {
        let get = dynamodb_kind(Some("DynamoDB_20120810.GetItem"), b"{}");
        assert_eq!(get.to_string(), "GetItem");
        let tx = dynamodb_kind(
            Some("DynamoDB_20120810.TransactWriteItems"),
            br#"{"TransactItems":[{"Put":{}},{"Update":{}},{"Put":{}}]}"#,
        );
        assert_eq!(tx.items, 3);
        assert_eq!(tx.to_string(), "TransactWriteItems [3]");
        assert_eq!(dynamodb_kind(None, b"").operation, "?");
    }

    #[test]
    fn ses_calls_are_typed_by_action() {
        let v1 = ses_kind("POST", "/", b"Action=SendEmail&Version=2010-12-01");
        assert_eq!(v1.operation, "SES SendEmail");
        let v2 = ses_kind("POST", "/v2/email/outbound-emails", b"{}");
        assert_eq!(v2.operation, "SES POST /v2/email/outbound-emails");
    }
}
