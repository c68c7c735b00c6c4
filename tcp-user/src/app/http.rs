//! `http`: an HTTP/1.1 responder with keep-alive and a fixed body of configurable size, good
//! enough for curl, ab and wrk. Every request (any method and path) gets `200 OK` with the
//! body; `HEAD` gets the headers only. Requests are answered in order (pipelining works).
//!
//! A request body is read and thrown away as it arrives, so a body of any size up to
//! [`MAX_BODY`] makes progress whatever the receive buffer's size; a larger
//! `Content-Length` gets `413` and the connection is closed, a transfer coding gets `501`
//! (RFC 9112 section 6.1), a head larger than [`MAX_HEAD`] gets `431`. `Expect:
//! 100-continue` is answered with `100 Continue` (RFC 9110 section 10.1.1).
//!
//! The responses are built once at start-up; serving a request copies from them into the
//! send buffer and allocates nothing.

use crate::service::{ConnId, Cx, Event, Service, State};

/// Longest request head (request line + headers) accepted; beyond it: 431 and close.
pub const MAX_HEAD: usize = 8192;
/// Largest request body accepted (read and discarded); beyond it: 413 and close.
pub const MAX_BODY: usize = 1 << 20;

/// What is going on on one connection.
#[derive(Default)]
pub struct HttpConn {
    /// Which prebuilt response is being sent and how far.
    response: Option<Which>,
    sent: usize,
    /// Bytes of the response to send (the head only, for HEAD).
    len: usize,
    /// Body bytes of the current request still to read and discard; the response goes out
    /// once they are in.
    body_left: usize,
    /// The response that follows the body.
    after_body: Option<(Which, usize)>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Which {
    KeepAlive,
    Close,
    Continue,
    TooLarge,
    HeadTooLarge,
    NotImplemented,
}

impl Which {
    /// The connection closes after this response.
    fn closes(self) -> bool {
        !matches!(self, Which::KeepAlive | Which::Continue)
    }
}

/// The HTTP service.
pub struct Http {
    keep_alive: Vec<u8>,
    keep_alive_head: usize,
    close: Vec<u8>,
    close_head: usize,
    scratch: Box<[u8; MAX_HEAD]>,
}

const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";
const TOO_LARGE: &[u8] =
    b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
const HEAD_TOO_LARGE: &[u8] = b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
const NOT_IMPLEMENTED: &[u8] =
    b"HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

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
        Http {
            keep_alive,
            keep_alive_head,
            close,
            close_head,
            scratch: Box::new([0; MAX_HEAD]),
        }
    }

    fn bytes(&self, which: Which) -> &[u8] {
        match which {
            Which::KeepAlive => &self.keep_alive,
            Which::Close => &self.close,
            Which::Continue => CONTINUE,
            Which::TooLarge => TOO_LARGE,
            Which::HeadTooLarge => HEAD_TOO_LARGE,
            Which::NotImplemented => NOT_IMPLEMENTED,
        }
    }

    fn start(&self, st: &mut HttpConn, which: Which, len: Option<usize>) {
        st.response = Some(which);
        st.sent = 0;
        st.len = len.unwrap_or(self.bytes(which).len());
    }
}

impl Service for Http {
    type Data = HttpConn;

    fn on_event(&mut self, cx: &mut Cx<'_, HttpConn>, id: ConnId, event: Event) {
        if matches!(event, Event::Closed | Event::Reset | Event::TimedOut) {
            return;
        }
        let Some(mut conn) = cx.conn(id) else { return };
        loop {
            let st = conn.data_mut();
            // 1. Finish the response in progress.
            if let Some(which) = st.response {
                let (from, to) = (st.sent, st.len);
                let sent = conn.write(&self.bytes(which)[from..to]);
                let st = conn.data_mut();
                st.sent += sent;
                if st.sent < st.len {
                    return; // wait for Writable
                }
                st.response = None;
                if which.closes() {
                    conn.close();
                    return;
                }
            }
            // 2. Read and discard the body of the current request as it arrives.
            let body_left = conn.data().body_left;
            if body_left > 0 {
                let n = conn.readable().min(body_left);
                conn.consume(n);
                let st = conn.data_mut();
                st.body_left -= n;
                if st.body_left > 0 {
                    if conn.state() == State::CloseWait {
                        conn.close(); // the peer ended in the middle of a body
                    }
                    return;
                }
            }
            let st = conn.data_mut();
            if let Some((which, len)) = st.after_body.take() {
                self.start(st, which, Some(len));
                continue;
            }
            // 3. Look for the next complete request head.
            let (a, b) = conn.peek();
            let have = (a.len() + b.len()).min(MAX_HEAD);
            let from_a = a.len().min(have);
            self.scratch[..from_a].copy_from_slice(&a[..from_a]);
            self.scratch[from_a..have].copy_from_slice(&b[..have - from_a]);
            let head = &self.scratch[..have];
            let Some(end) = find_head_end(head) else {
                if have >= MAX_HEAD {
                    conn.consume(have);
                    self.start(conn.data_mut(), Which::HeadTooLarge, None);
                    continue;
                }
                if conn.state() == State::CloseWait {
                    conn.close(); // peer is done and left no complete request
                }
                return;
            };
            let req = parse_head(&head[..end]);
            conn.consume(end);
            let st = conn.data_mut();
            let which = if req.keep_alive {
                Which::KeepAlive
            } else {
                Which::Close
            };
            let len = match (req.head_only, which) {
                (true, Which::KeepAlive) => self.keep_alive_head,
                (true, _) => self.close_head,
                (false, w) => self.bytes(w).len(),
            };
            match req.body {
                Body::Length(n) if n > MAX_BODY => self.start(st, Which::TooLarge, None),
                Body::Length(0) => self.start(st, which, Some(len)),
                Body::Length(n) => {
                    st.body_left = n;
                    st.after_body = Some((which, len));
                    if req.expect_continue {
                        self.start(st, Which::Continue, None);
                    }
                }
                Body::Unsupported => self.start(st, Which::NotImplemented, None),
            }
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
    body: Body,
    expect_continue: bool,
}

/// How the request's body is framed (RFC 9112 section 6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Body {
    /// `Content-Length` bytes (0 when absent). An invalid value counts as too large.
    Length(usize),
    /// A transfer coding (chunked or other): not supported, answered 501.
    Unsupported,
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
    let mut body = Body::Length(0);
    let mut expect_continue = false;
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
        } else if name.eq_ignore_ascii_case(b"content-length") && body != Body::Unsupported {
            let n = std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(usize::MAX);
            body = Body::Length(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            body = Body::Unsupported;
        } else if name.eq_ignore_ascii_case(b"expect") {
            expect_continue = value.eq_ignore_ascii_case(b"100-continue");
        }
    }
    Request {
        keep_alive,
        head_only,
        body,
        expect_continue,
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
        assert_eq!(r.body, Body::Length(5));
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
