//! Just enough HTTP/1.0 to ask a local emulator whether it is up: one request
//! on a fresh connection, the whole answer read until the server closes it.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(2);

/// An answer: status code and body text.
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// `method path` on 127.0.0.1:`port` with `body`; `None` when nothing answers
/// HTTP there (refused, timed out, or not HTTP).
pub fn request(port: u16, method: &str, path: &str, body: &str) -> Option<Answer> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT).ok()?;
    stream.set_read_timeout(Some(TIMEOUT)).ok()?;
    stream.set_write_timeout(Some(TIMEOUT)).ok()?;
    let head = format!(
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body.as_bytes()).ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    parse(&String::from_utf8_lossy(&raw))
}

pub fn get(port: u16, path: &str) -> Option<Answer> {
    request(port, "GET", path, "")
}

fn parse(raw: &str) -> Option<Answer> {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
    let status_line = head.lines().next()?;
    let mut parts = status_line.split_whitespace();
    if !parts.next()?.starts_with("HTTP/") {
        return None;
    }
    let status = parts.next()?.parse().ok()?;
    Some(Answer {
        status,
        body: body.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn reads_status_and_body() {
        let answer =
            parse("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"emails\":[]}")
                .expect("an answer");
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body, "{\"emails\":[]}");
    }

    #[test]
    fn anything_else_is_no_answer() {
        assert!(parse("SSH-2.0-OpenSSH_9.6\r\n").is_none());
        assert!(parse("").is_none());
    }
}
