//! RESP2 reply writers: each appends one reply (or an array header) to `out`, the connection's
//! output buffer, without allocating beyond growing it.

/// `+OK`.
pub const OK: &[u8] = b"+OK\r\n";
/// The RESP2 null bulk string (`$-1`), Redis's nil for GET, MGET, CLIENT GETNAME.
pub const NULL_BULK: &[u8] = b"$-1\r\n";
/// Redis's reply to a write refused by the memory budget (`shared.oomerr`).
pub const OOM: &[u8] = b"-OOM command not allowed when used memory > 'maxmemory'.\r\n";
/// `shared.syntaxerr`.
pub const SYNTAX_ERROR: &[u8] = b"-ERR syntax error\r\n";
/// `shared.outofrangeerr` style text used by every integer argument in this engine.
pub const NOT_INTEGER: &[u8] = b"-ERR value is not an integer or out of range\r\n";

/// `+<s>`: `s` must not contain `\r` or `\n`.
pub fn simple(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'+');
    out.extend_from_slice(s);
    out.extend_from_slice(b"\r\n");
}

/// An error reply as Redis's `addReplyError` writes it: `-ERR <msg>`, or `<msg>` as is when it
/// already starts with `-` and its own code (`-NOPROTO ...`). `msg` must not contain line ends.
pub fn error(out: &mut Vec<u8>, msg: &[u8]) {
    if msg.first() != Some(&b'-') {
        out.extend_from_slice(b"-ERR ");
    }
    out.extend_from_slice(msg);
    out.extend_from_slice(b"\r\n");
}

/// An error whose text embeds client bytes, as `addReplyErrorFormat` writes it: `\r`/`\n` are
/// trimmed from both ends of the message, then the remaining ones become spaces.
pub fn error_sanitized(out: &mut Vec<u8>, msg: &[u8]) {
    let is_eol = |b: &u8| *b == b'\r' || *b == b'\n';
    let start = msg.iter().position(|b| !is_eol(b)).unwrap_or(msg.len());
    let end = msg
        .iter()
        .rposition(|b| !is_eol(b))
        .map_or(start, |i| i + 1);
    let msg = &msg[start..end];
    if msg.first() != Some(&b'-') {
        out.extend_from_slice(b"-ERR ");
    }
    out.extend(msg.iter().map(|&b| if is_eol(&b) { b' ' } else { b }));
    out.extend_from_slice(b"\r\n");
}

/// `:<n>`.
pub fn integer(out: &mut Vec<u8>, n: i64) {
    out.push(b':');
    decimal(out, n);
    out.extend_from_slice(b"\r\n");
}

/// `$<len>\r\n<b>\r\n`.
pub fn bulk(out: &mut Vec<u8>, b: &[u8]) {
    out.push(b'$');
    decimal(out, b.len() as i64);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(b);
    out.extend_from_slice(b"\r\n");
}

/// `$-1`, the RESP2 nil.
pub fn null_bulk(out: &mut Vec<u8>) {
    out.extend_from_slice(NULL_BULK);
}

/// `*<n>`, to be followed by `n` replies.
pub fn array_len(out: &mut Vec<u8>, n: usize) {
    out.push(b'*');
    decimal(out, n as i64);
    out.extend_from_slice(b"\r\n");
}

/// Appends `n` in decimal, as Redis's `ll2string` prints it.
pub fn decimal(out: &mut Vec<u8>, n: i64) {
    out.extend_from_slice(itoa(n, &mut [0u8; 20]));
}

/// `n` in decimal, written into `buf` (20 bytes hold any `i64`).
pub fn itoa(n: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}
