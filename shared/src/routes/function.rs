//! What one registry line states about a Lambda function: what feeds it,
//! what it reaches beyond the table and the secrets, and which partitions of
//! the table it may write, delete in and list. The deployment template's
//! IAM statements are checked against these (tests/api/template.rs).

/// One Lambda function, as its line in [`crate::routes`] declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Function {
    /// `functions/src/bin/<binary>.rs`, and the template's `Binary`.
    pub binary: &'static str,
    /// What invokes it.
    pub fed_by: FedBy,
    /// What its App is connected to beyond the table and the secrets.
    pub needs: Needs,
    /// The partitions (key prefixes) it puts and updates: its `TableWrite`.
    pub writes: &'static [&'static str],
    /// The partitions it deletes items in: its `TableDelete`.
    pub deletes: &'static [&'static str],
    /// The lists it queries on the table's indexes, by their partition key
    /// prefixes: its `IndexRead`.
    pub lists: &'static [&'static str],
}

/// What invokes a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FedBy {
    /// API Gateway: an HTTP request in, a response out.
    Api,
    /// The table's DynamoDB Stream.
    Stream,
    /// A schedule.
    Schedule,
}

/// What a function's App reaches beyond the table and the secrets; only the
/// functions that need a client carry it in their binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// The table and the secrets, no more.
    Storage,
    /// The mail service (one-time codes).
    Mail,
    /// Every configured payment gateway.
    Gateways,
    /// The webhook endpoints' HTTP client (deliveries).
    DeliverySender,
}

/// Whether a main's `CARGO_BIN_NAME` is the binary it serves; `const` so
/// that a main serving another binary's line does not compile.
pub const fn same_name(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}
