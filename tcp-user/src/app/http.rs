//! `http`: an HTTP/1.1 responder with keep-alive and a fixed body of configurable size, good
//! enough for curl, ab and wrk. Every request (any method and path) gets `200 OK` with the
//! body; `HEAD` gets the headers only. Requests are answered in order (pipelining works).
//!
//! The responses are built once at start-up; serving a request copies from them into the
//! send buffer and allocates nothing.

use super::App;
use crate::tcp::{Connection, Event, Instant, State};

/// Longest request head (request line + headers) accepted; beyond it: 431 and close.
pub const MAX_HEAD: usize = 8192;

/// What is being sent on a connection.
#[derive(Default)]
pub struct HttpConn {
    /// Which prebuilt response is being sent and how far.
    response: Option<Which>,
    sent: usize,
    /// Bytes of the response to send (the head only, for HEAD).
    len: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Which {
    KeepAlive,
    Close,
    TooLarge,
}

/// The HTTP application.
pub struct Http {
    keep_alive: Vec<u8>,
    keep_alive_head: usize,
    close: Vec<u8>,
    close_head: usize,
    too_large: Vec<u8>,
    scratch: Box<[u8; MAX_HEAD]>,
}

impl Http {
    /// A responder whose body is `body_size` bytes of text.
    pub fn new(body_size: usize) -> Http {
        let body: Vec<u8> = (0..body_size).map(|i| b'a' + (i % 26) as u8).collect();
        let build = |extra: &str| {
            let head = format!(
                "HTTP/1.1 200 OK\r\nServer: xdptcp\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n{extra}\r\n",
                body.len()
            );
            let mut r = head.clone().into_bytes();
            r.extend_from_slice(&body);
            (r, head.len())
        };
        // HTTP/1.0 clients (ab -k) keep a connection open only when told so (RFC 9112 9.3).
        let (keep_alive, keep_alive_head) = build("Connection: keep-alive\r\n");
        let (close, close_head) = build("Connection: close\r\n");
        let too_large = b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec();
        Http {
            keep_alive,
            keep_alive_head,
            close,
            close_head,
            too_large,
            scratch: Box::new([0; MAX_HEAD]),
        }
    }

    fn bytes(&self, which: Which) -> &[u8] {
        match which {
            Which::KeepAlive => &self.keep_alive,
            Which::Close => &self.close,
            Which::TooLarge => &self.too_large,
        }
    }
}

impl App for Http {
    type ConnState = HttpConn;

    fn on_event(&mut self, _now: Instant, conn: &mut Connection, st: &mut HttpConn, event: Event) {
        if matches!(event, Event::Closed | Event::Reset | Event::TimedOut) {
            return;
        }
        loop {
            // 1. Finish the response in progress.
            if let Some(which) = st.response {
                let sent = conn.send(&self.bytes(which)[st.sent..st.len]);
                st.sent += sent;
                if st.sent < st.len {
                    return; // wait for Writable
                }
                st.response = None;
                if which != Which::KeepAlive {
                    conn.close();
                    return;
                }
            }
            // 2. Look for the next complete request head.
            let (a, b) = conn.recv_slices();
            let have = (a.len() + b.len()).min(MAX_HEAD);
            let from_a = a.len().min(have);
            self.scratch[..from_a].copy_from_slice(&a[..from_a]);
            self.scratch[from_a..have].copy_from_slice(&b[..have - from_a]);
            let head = &self.scratch[..have];
            let Some(end) = find_head_end(head) else {
                if have >= MAX_HEAD {
                    st.response = Some(Which::TooLarge);
                    st.sent = 0;
                    st.len = self.too_large.len();
                    conn.recv_consume(have);
                    continue;
                }
                if conn.state() == State::CloseWait {
                    conn.close(); // peer is done and left no complete request
                }
                return;
            };
            let req = parse_head(&head[..end]);
            // A request body (Content-Length) must be read fully before answering.
            let total = end + req.content_length;
            if (a.len() + b.len()) < total {
                return;
            }
            conn.recv_consume(total);
            let which = if req.keep_alive {
                Which::KeepAlive
            } else {
                Which::Close
            };
            st.response = Some(which);
            st.sent = 0;
            st.len = match (req.head_only, which) {
                (true, Which::KeepAlive) => self.keep_alive_head,
                (true, _) => self.close_head,
                (false, w) => self.bytes(w).len(),
            };
        }
    }
}

/// Position just past the blank line ending a request head.
fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

struct Request {
    keep_alive: bool,
    head_only: bool,
    content_length: usize,
}

/// Reads what the responder needs from a request head: HTTP/1.1 is keep-alive unless
/// `Connection: close`; HTTP/1.0 is close unless `Connection: keep-alive` (RFC 9112 9.3).
fn parse_head(head: &[u8]) -> Request {
    let mut lines = head
        .split(|&c| c == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let request_line = lines.next().unwrap_or_default();
    let head_only = request_line.starts_with(b"HEAD ");
    let http10 = request_line.ends_with(b"HTTP/1.0");
    let mut keep_alive = !http10;
    let mut content_length = 0;
    for line in lines {
        let Some(colon) = line.iter().position(|&c| c == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], trim(&line[colon + 1..]));
        if name.eq_ignore_ascii_case(b"connection") {
            if value.eq_ignore_ascii_case(b"close") {
                keep_alive = false;
            } else if value.eq_ignore_ascii_case(b"keep-alive") {
                keep_alive = true;
            }
        } else if name.eq_ignore_ascii_case(b"content-length") {
            content_length = std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0)
                .min(1 << 20);
        }
    }
    Request {
        keep_alive,
        head_only,
        content_length,
    }
}

fn trim(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &v[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http11_is_keep_alive_unless_connection_close() {
        assert!(parse_head(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").keep_alive);
        assert!(!parse_head(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n").keep_alive);
        assert!(!parse_head(b"GET / HTTP/1.0\r\n\r\n").keep_alive);
        assert!(parse_head(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
    }

    #[test]
    fn head_end_and_content_length_are_found() {
        let req = b"POST /x HTTP/1.1\r\nContent-Length:  5 \r\n\r\nhello";
        let end = find_head_end(req).unwrap();
        assert_eq!(&req[end..], b"hello");
        let r = parse_head(&req[..end]);
        assert_eq!(r.content_length, 5);
        assert!(!r.head_only);
        assert!(parse_head(b"HEAD / HTTP/1.1\r\n\r\n").head_only);
    }

    #[test]
    fn responses_carry_the_configured_body_length() {
        let h = Http::new(100);
        let text = String::from_utf8(h.keep_alive.clone()).unwrap();
        assert!(text.contains("Content-Length: 100\r\n"));
        assert_eq!(h.keep_alive.len(), h.keep_alive_head + 100);
        assert!(String::from_utf8_lossy(&h.close).contains("Connection: close"));
    }
}
