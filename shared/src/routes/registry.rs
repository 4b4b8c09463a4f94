//! The `registry!` macro: from each function's one line in `routes.rs`, the
//! lists the local stack and the tests read ([`BINARIES`](super::BINARIES),
//! [`FUNCTIONS`](super::FUNCTIONS)), the handler of each routed binary, the
//! OpenAPI paths, and the `serve_function!` macro every `main` calls.

/// A function's line, as [`Function`](super::Function).
macro_rules! function {
    (
        $binary:expr, $fed_by:ident, $needs:ident,
        $(writes: [$($write:literal),* $(,)?],)?
        $(deletes: [$($delete:literal),* $(,)?],)?
        $(lists: [$($list:literal),* $(,)?],)?
    ) => {
        Function {
            binary: $binary,
            fed_by: fed_by!($fed_by),
            needs: needs!($needs),
            writes: &[$($($write),*)?],
            deletes: &[$($($delete),*)?],
            lists: &[$($($list),*)?],
        }
    };
}

macro_rules! fed_by {
    (api) => {
        FedBy::Api
    };
    (stream) => {
        FedBy::Stream
    };
    (schedule) => {
        FedBy::Schedule
    };
}

macro_rules! needs {
    (storage) => {
        Needs::Storage
    };
    (mail) => {
        Needs::Mail
    };
    (gateways) => {
        Needs::Gateways
    };
    (delivery_sender) => {
        Needs::DeliverySender
    };
}

/// The `runtime` entry that feeds a function what invokes it, with the App
/// connected to what its line needs. A pairing with no such connection
/// (mail on a schedule) does not compile; `serve_function!` is how a `main`
/// reaches it.
#[doc(hidden)]
#[macro_export]
macro_rules! serve_registered {
    (api, $needs:ident, $handler:path) => {
        $crate::runtime::serve($crate::runtime::connect::routed::$needs, $handler)
    };
    (stream, delivery_sender, $handler:path) => {
        $crate::runtime::serve_background(
            $crate::runtime::connect::background::delivery_sender,
            $handler,
        )
    };
    (schedule, $needs:ident, $handler:path) => {
        $crate::runtime::serve_background($crate::runtime::connect::background::$needs, $handler)
    };
}

macro_rules! registry {
    (
        routed {
            $(
                $binary:tt => $($segment:ident)::+, needs $needs:ident
                { $($field:tt)* }
            ),+ $(,)?
        }
        background {
            $(
                $bg_binary:tt => $($bg_segment:ident)::+, on $bg_fed_by:ident, needs $bg_needs:ident
                { $($bg_field:tt)* }
            ),+ $(,)?
        }
    ) => {
        /// The binaries behind API Gateway, each `functions/src/bin/<name>.rs`.
        pub const BINARIES: &[&str] = &[$($binary),+];

        /// The binaries AWS itself feeds (the table's stream, a schedule),
        /// which the local stack runs on its own.
        pub const BACKGROUND_BINARIES: &[&str] = &[$($bg_binary),+];

        /// Every function, routed ones first, as its line declares it.
        pub const FUNCTIONS: &[Function] = &[
            $(function!($binary, api, $needs, $($field)*),)+
            $(function!($bg_binary, $bg_fed_by, $bg_needs, $($bg_field)*),)+
        ];

        /// The handler `functions/src/bin/<binary>.rs` serves, for a binary
        /// behind API Gateway.
        pub fn handler(binary: &str) -> Option<Handler> {
            match binary {
                $($binary => {
                    let handler: Handler = Box::new(|app: Arc<App>, req: Request| -> HandlerFuture {
                        Box::pin(crate::$($segment)::+(app, req))
                    });
                    Some(handler)
                })+
                _ => None,
            }
        }

        /// The OpenAPI operations of every routed binary's handler, which
        /// the API document (`surfaces::docs`) is built from.
        #[derive(utoipa::OpenApi)]
        #[openapi(paths($(crate::$($segment)::+),+))]
        pub struct RoutedPaths;

        /// What a function's `main` serves: its handler, through the
        /// `runtime` entry its line's needs and trigger name. Only that
        /// handler and the clients it needs are linked into the binary. The
        /// binary's own name is the argument: a main that names another
        /// binary does not compile.
        #[macro_export]
        macro_rules! serve_function {
            $(
                ($binary) => {{
                    const _: () = assert!(
                        $crate::routes::same_name(env!("CARGO_BIN_NAME"), $binary),
                        concat!("only functions/src/bin/", $binary, ".rs serves ", $binary)
                    );
                    $crate::serve_registered!(api, $needs, $crate::$($segment)::+)
                }};
            )+
            $(
                ($bg_binary) => {{
                    const _: () = assert!(
                        $crate::routes::same_name(env!("CARGO_BIN_NAME"), $bg_binary),
                        concat!("only functions/src/bin/", $bg_binary, ".rs serves ", $bg_binary)
                    );
                    $crate::serve_registered!($bg_fed_by, $bg_needs, $crate::$($bg_segment)::+)
                }};
            )+
        }
    };
}
