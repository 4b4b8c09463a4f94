//! Ports for the emulators: fixed ones for `make run`, free ones for tests.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::time::Duration;

/// A port nobody listens on right now, as the OS picks one for port 0. Another
/// process may still take it before our child binds it; the stack retries
/// then on a new pick.
pub fn pick_free() -> Result<u16, String> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| format!("cannot pick a free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("cannot pick a free port: {e}"))
}

/// True when something already listens on `port` (any local address, so a
/// server bound to 0.0.0.0 or [::] counts as well as one on 127.0.0.1).
pub fn is_busy(port: u16) -> bool {
    let connects = TcpStream::connect_timeout(
        &(Ipv4Addr::LOCALHOST, port).into(),
        Duration::from_millis(500),
    )
    .is_ok();
    connects || TcpListener::bind((Ipv4Addr::UNSPECIFIED, port)).is_err()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_picked_port_is_free_and_a_listening_one_is_busy() {
        let port = pick_free().expect("a port");
        assert_ne!(port, 0);
        let listener =
            TcpListener::bind((Ipv4Addr::LOCALHOST, port)).expect("bind the picked port");
        assert!(is_busy(port));
        drop(listener);
    }
}
