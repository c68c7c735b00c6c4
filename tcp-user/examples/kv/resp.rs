//! RESP2 request parsing (sans-IO) and the argument arena it fills.
//!
//! This module owns the wire format of requests as Redis 7.0 reads them (`networking.c`,
//! `processInputBuffer`): a request whose first byte is `*` is a multibulk
//! (`*N\r\n$len\r\n...\r\n`), anything else is an inline command (one line split with
//! `sdssplitargs` quoting rules, see the `inline` submodule). Pipelined requests are parsed one per call;
//! requests split across reads answer [`Parsed::Incomplete`] until the rest arrives.
//!
//! Redis quirks kept on purpose, so that every byte stream gets the same answer as from Redis:
//! - line ends are searched with `strchr`, which stops at a NUL byte: a NUL before the `\r`
//!   (multibulk headers) or `\n` (inline) means "no line yet", until the size limit errors;
//! - after a header's `\r`, and after a bulk body, two bytes are skipped without checking that
//!   they are `\r\n`;
//! - `*0` / `*-N` and empty inline lines are requests with no arguments: they are consumed and
//!   answered with nothing ([`Parsed::Complete`] with empty [`Args`]);
//! - a protocol error is answered with Redis's `-ERR Protocol error: ...` text, after which the
//!   connection must be closed once the reply is written (Redis `CLIENT_CLOSE_AFTER_REPLY`).
//!
//! Reply writers live in [`reply`].

mod inline;
pub mod reply;
#[cfg(test)]
mod tests;

/// Longest inline request, multibulk count line or bulk length line Redis accepts while waiting
/// for its line end (`PROTO_INLINE_MAX_SIZE`).
pub const INLINE_MAX: usize = 64 * 1024;

/// Largest bulk argument (`proto-max-bulk-len` default, 512 MB).
pub const MAX_BULK: usize = 512 * 1024 * 1024;

/// The arguments of one request, stored back to back in one reusable buffer so that parsing a
/// request allocates nothing once the buffers have grown to the connection's usual size.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Args {
    data: Vec<u8>,
    ends: Vec<usize>,
}

impl Args {
    /// An empty arena.
    pub fn new() -> Args {
        Args::default()
    }

    /// Frees the buffers if they grew beyond `max` bytes (after a large request), so an idle
    /// connection does not keep the memory of its largest request.
    pub fn shrink_to(&mut self, max: usize) {
        if self.data.capacity() > max {
            *self = Args::new();
        }
    }

    /// Forgets all arguments, keeping the allocations.
    pub fn clear(&mut self) {
        self.data.clear();
        self.ends.clear();
    }

    /// Number of arguments (the command name included).
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True for a request with no arguments (an empty inline line, `*0`), which is answered
    /// with nothing.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Argument `i`; an index past the end reads as an empty argument (never panics).
    pub fn get(&self, i: usize) -> &[u8] {
        let Some(&end) = self.ends.get(i) else {
            return &[];
        };
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.data[start..end]
    }

    /// Appends one argument (used to build the per-shard parts of a multi-key command).
    pub fn push(&mut self, arg: &[u8]) {
        self.data.extend_from_slice(arg);
        self.ends.push(self.data.len());
    }

    /// The arguments in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }

    /// Adds one byte to the argument being built by the inline splitter.
    fn push_byte(&mut self, b: u8) {
        self.data.push(b);
    }

    /// Closes the argument being built by the inline splitter.
    fn finish_arg(&mut self) {
        self.ends.push(self.data.len());
    }
}

/// What [`Parser::parse`] found at the start of the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// No complete request yet. `needed` is a lower bound on how many more bytes must arrive
    /// before another call can make progress (large when a big bulk body is pending), so a
    /// caller may skip calling again until it has them.
    Incomplete {
        /// Lower bound on the missing bytes (at least 1).
        needed: usize,
    },
    /// One request: its arguments are in the [`Args`] passed in, and `consumed` bytes of the
    /// buffer belong to it. Empty `Args` (`*0`, an empty line) must be skipped without a reply.
    Complete {
        /// Bytes of the buffer taken by this request.
        consumed: usize,
    },
    /// A protocol error: write these reply bytes, then close the connection.
    ProtocolError(Vec<u8>),
}

/// Where an unfinished multibulk request stopped, so the next call does not re-read the bulks
/// it already copied (a request with many arguments arriving in many reads stays linear).
#[derive(Debug, Clone, Copy)]
struct Resume {
    /// Offset of the next bulk header.
    pos: usize,
    /// Bulks still to read.
    left: u32,
    /// `args.len()` when we stopped (a changed arena means the caller started over).
    args_len: usize,
}

/// Incremental RESP2 request parser, one per connection.
///
/// Call [`Parser::parse`] with everything received and not yet consumed. After
/// [`Parsed::Incomplete`], the next call must pass a buffer that starts with the same bytes (more
/// may follow) and the same [`Args`]; after [`Parsed::Complete`] the caller drops `consumed`
/// bytes from the front. A parser whose caller cannot keep that promise may be replaced by a new
/// one at any time: it then re-reads from the start of the buffer.
#[derive(Debug, Default, Clone)]
pub struct Parser {
    resume: Option<Resume>,
    /// Inline request: bytes already searched for the end of line without finding it.
    inline_scanned: usize,
}

impl Parser {
    /// A parser at the start of a request.
    #[allow(dead_code)] // Public API; not every service calls it.
    pub fn new() -> Parser {
        Parser::default()
    }

    /// Parses the request at the start of `buf` into `args`.
    pub fn parse(&mut self, buf: &[u8], args: &mut Args) -> Parsed {
        if buf.is_empty() {
            self.resume = None;
            self.inline_scanned = 0;
            return Parsed::Incomplete { needed: 1 };
        }
        if buf[0] == b'*' {
            self.inline_scanned = 0;
            self.multibulk(buf, args)
        } else {
            self.resume = None;
            self.inline(buf, args)
        }
    }

    fn inline(&mut self, buf: &[u8], args: &mut Args) -> Parsed {
        let from = self.inline_scanned.min(buf.len());
        // strchr(query, '\n'): a NUL ends the search as if there were no line end.
        let hit = buf[from..].iter().position(|&b| b == b'\n' || b == 0);
        let nl = match hit {
            Some(i) if buf[from + i] == b'\n' => from + i,
            other => {
                self.inline_scanned = other.map_or(buf.len(), |i| from + i);
                if buf.len() > INLINE_MAX {
                    return protocol_error(b"too big inline request");
                }
                return Parsed::Incomplete { needed: 1 };
            }
        };
        self.inline_scanned = 0;
        let end = if nl > 0 && buf[nl - 1] == b'\r' {
            nl - 1
        } else {
            nl
        };
        args.clear();
        if inline::split(&buf[..end], args).is_err() {
            return protocol_error(b"unbalanced quotes in request");
        }
        Parsed::Complete { consumed: nl + 1 }
    }

    fn multibulk(&mut self, buf: &[u8], args: &mut Args) -> Parsed {
        let resume = self
            .resume
            .take()
            .filter(|r| r.args_len == args.len() && r.pos <= buf.len());
        let (mut pos, mut left) = match resume {
            Some(r) => (r.pos, r.left),
            None => {
                args.clear();
                let Some(cr) = find_cr(buf, 0) else {
                    if buf.len() > INLINE_MAX {
                        return protocol_error(b"too big mbulk count string");
                    }
                    return Parsed::Incomplete { needed: 1 };
                };
                if cr + 2 > buf.len() {
                    return Parsed::Incomplete { needed: 1 };
                }
                let count = match string2ll(&buf[1..cr]) {
                    Some(n) if n <= i32::MAX as i64 => n,
                    _ => return protocol_error(b"invalid multibulk length"),
                };
                if count <= 0 {
                    return Parsed::Complete { consumed: cr + 2 };
                }
                (cr + 2, count as u32)
            }
        };
        while left > 0 {
            let mut suspend = |needed: usize| {
                self.resume = Some(Resume {
                    pos,
                    left,
                    args_len: args.len(),
                });
                Parsed::Incomplete { needed }
            };
            let Some(cr) = find_cr(buf, pos) else {
                if buf.len() - pos > INLINE_MAX {
                    return protocol_error(b"too big bulk count string");
                }
                return suspend(1);
            };
            if cr + 2 > buf.len() {
                return suspend(1);
            }
            if buf[pos] != b'$' {
                return expected_dollar(buf[pos]);
            }
            let len = match string2ll(&buf[pos + 1..cr]) {
                Some(n) if (0..=MAX_BULK as i64).contains(&n) => n as usize,
                _ => return protocol_error(b"invalid bulk length"),
            };
            let body = cr + 2;
            let end = body + len + 2;
            if end > buf.len() {
                return suspend(end - buf.len());
            }
            args.push(&buf[body..body + len]);
            pos = end;
            left -= 1;
        }
        Parsed::Complete { consumed: pos }
    }
}

/// `strchr(buf + from, '\r')` on a NUL-terminated buffer: the first `\r` at or after `from`,
/// unless a NUL byte comes first.
fn find_cr(buf: &[u8], from: usize) -> Option<usize> {
    let i = buf
        .get(from..)?
        .iter()
        .position(|&b| b == b'\r' || b == 0)?;
    (buf[from + i] == b'\r').then_some(from + i)
}

fn protocol_error(what: &[u8]) -> Parsed {
    let mut out = Vec::with_capacity(24 + what.len());
    out.extend_from_slice(b"-ERR Protocol error: ");
    out.extend_from_slice(what);
    out.extend_from_slice(b"\r\n");
    Parsed::ProtocolError(out)
}

/// `Protocol error: expected '$', got '%c'`, with Redis's mapping of `\r` and `\n` to spaces (a
/// NUL byte is kept as is, as Redis does).
fn expected_dollar(got: u8) -> Parsed {
    let got = if got == b'\r' || got == b'\n' {
        b' '
    } else {
        got
    };
    let mut out = b"-ERR Protocol error: expected '$', got '".to_vec();
    out.push(got);
    out.extend_from_slice(b"'\r\n");
    Parsed::ProtocolError(out)
}

/// Redis `string2ll`: a strict decimal `i64` (optional `-`, no leading zeros, no spaces or `+`,
/// at most 20 bytes), `None` otherwise.
pub fn string2ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        if v > 1u64 << 63 {
            return None;
        }
        Some(0i64.wrapping_sub_unsigned(v))
    } else {
        i64::try_from(v).ok()
    }
}
