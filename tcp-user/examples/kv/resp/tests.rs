//! Parser and reply-writer tests. Expected protocol-error bytes and inline splits were checked
//! against redis-server 7.0.15 (Debian 12) on loopback.

use super::reply;
use super::*;

/// What a connection would see: each complete request's arguments, in order, and how it ended.
#[derive(Debug, PartialEq, Eq)]
struct Run {
    requests: Vec<Vec<Vec<u8>>>,
    end: End,
}

#[derive(Debug, PartialEq, Eq)]
enum End {
    /// Waiting for more bytes, with this many unconsumed.
    Waiting(usize),
    /// Protocol error with this reply.
    Error(Vec<u8>),
}

/// Parses everything in `buf` like a connection whose whole input arrived at once.
fn run(buf: &[u8]) -> Run {
    feed(&[buf])
}

/// Parses `chunks` arriving one after the other on one connection.
fn feed(chunks: &[&[u8]]) -> Run {
    let mut parser = Parser::new();
    let mut args = Args::new();
    let mut pending = Vec::new();
    let mut requests = Vec::new();
    for chunk in chunks {
        pending.extend_from_slice(chunk);
        loop {
            match parser.parse(&pending, &mut args) {
                Parsed::Incomplete { needed } => {
                    assert!(needed >= 1);
                    break;
                }
                Parsed::Complete { consumed } => {
                    assert!(consumed > 0 && consumed <= pending.len());
                    if !args.is_empty() {
                        requests.push(args.iter().map(<[u8]>::to_vec).collect());
                    }
                    pending.drain(..consumed);
                }
                Parsed::ProtocolError(reply) => {
                    return Run {
                        requests,
                        end: End::Error(reply),
                    }
                }
            }
        }
    }
    Run {
        requests,
        end: End::Waiting(pending.len()),
    }
}

fn req(words: &[&[u8]]) -> Vec<Vec<u8>> {
    words.iter().map(|w| w.to_vec()).collect()
}

fn error(reply: &[u8]) -> End {
    End::Error(reply.to_vec())
}

#[test]
fn multibulk_and_inline() {
    let r = run(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\nSET a b\r\n");
    assert_eq!(
        r.requests,
        vec![
            req(&[b"GET", b"k"]),
            req(&[b"PING"]),
            req(&[b"SET", b"a", b"b"])
        ]
    );
    assert_eq!(r.end, End::Waiting(0));
}

#[test]
fn binary_bulks_and_empty_bulk() {
    let r = run(b"*3\r\n$3\r\nSET\r\n$0\r\n\r\n$5\r\na\r\n\0b\r\n");
    assert_eq!(r.requests, vec![req(&[b"SET", b"", b"a\r\n\0b"])]);
}

#[test]
fn empty_requests_are_consumed_silently() {
    // Redis: `*0`, `*-N` and blank lines are skipped; both PINGs answer.
    let r = run(b"*0\r\n*-1\r\n*-5\r\n\r\n\n   \r\n\t\r\nPING\r\n");
    assert_eq!(r.requests, vec![req(&[b"PING"])]);
    let mut args = Args::new();
    assert_eq!(
        Parser::new().parse(b"*0\r\n", &mut args),
        Parsed::Complete { consumed: 4 }
    );
    assert!(args.is_empty());
}

#[test]
fn crlf_after_headers_and_bodies_is_not_checked() {
    // redis-server 7.0.15 answers +PONG to each of these.
    let r = run(b"*1\rX$4\r\nPING\r\n*1\r\n$4\r\nPINGXY*1\r\n$4\r\nPING\n\n");
    assert_eq!(r.requests, vec![req(&[b"PING"]); 3]);
}

#[test]
fn inline_line_ends() {
    let r = run(b"PING\nECHO lf\nECHO a\r\r\n");
    assert_eq!(
        r.requests,
        vec![
            req(&[b"PING"]),
            req(&[b"ECHO", b"lf"]),
            req(&[b"ECHO", b"a"])
        ]
    );
}

#[test]
fn inline_quoting_like_sdssplitargs() {
    let cases: &[(&[u8], &[&[u8]])] = &[
        (
            b"ECHO \"a\\x41\\n\\t\\r\\b\\a\\z\\\"q\"",
            &[b"ECHO", b"aA\n\t\r\x08\x07z\"q"],
        ),
        (b"ECHO 'it\\'s'", &[b"ECHO", b"it's"]),
        (b"ECHO ab\"cd ef\"", &[b"ECHO", b"abcd ef"]),
        (b"ECHO \"\\xzz\\x4\"", &[b"ECHO", b"xzzx4"]),
        (b"ECHO \"\" ''", &[b"ECHO", b"", b""]),
        (b"ECHO a\x0bb", &[b"ECHO", b"a\x0bb"]),
        (b"ECHO \"a\"\x0b", &[b"ECHO", b"a"]),
        (b"ECHO\x0b a", &[b"ECHO\x0b", b"a"]),
        (b"  ECHO   spaced\t\ttab  ", &[b"ECHO", b"spaced", b"tab"]),
        (b"set a b\rget a", &[b"set", b"a", b"b", b"get", b"a"]),
        (b"ECHO 'a\"b' \"c'd\"", &[b"ECHO", b"a\"b", b"c'd"]),
        (b"ECHO 'a\\nb'", &[b"ECHO", b"a\\nb"]),
    ];
    for (line, want) in cases {
        let mut buf = line.to_vec();
        buf.extend_from_slice(b"\r\n");
        assert_eq!(
            run(&buf).requests,
            vec![req(want)],
            "{}",
            line.escape_ascii()
        );
    }
}

#[test]
fn protocol_errors() {
    // Each reply as redis-server 7.0.15 sends it before closing the connection.
    let cases: &[(&[u8], &[u8])] = &[
        (
            b"ECHO \"abc\r\n",
            b"-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
        (
            b"ECHO \"abc\"d\r\n",
            b"-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
        (
            b"ECHO 'a'b\r\n",
            b"-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
        (
            b"ECHO 'abc\r\n",
            b"-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
        (
            b"*x\r\n",
            b"-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*\r\n",
            b"-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*+1\r\n",
            b"-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*01\r\n",
            b"-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*2147483648\r\n",
            b"-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*1\r\n$-1\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\n$536870913\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\n$abc\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\n$\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*2\r\n$4\r\nECHO\r\n+3\r\n",
            b"-ERR Protocol error: expected '$', got '+'\r\n",
        ),
        (
            b"*2\r\n$4\r\nECHO\r\n\r\n\r\n",
            b"-ERR Protocol error: expected '$', got ' '\r\n",
        ),
        (
            b"*2\r\n$4\r\nECHO\r\n\n\r\n",
            b"-ERR Protocol error: expected '$', got ' '\r\n",
        ),
    ];
    for (input, want) in cases {
        assert_eq!(run(input).end, error(want), "{}", input.escape_ascii());
    }
}

#[test]
fn size_limits() {
    let inline = vec![b'a'; INLINE_MAX + 1];
    assert_eq!(
        run(&inline).end,
        error(b"-ERR Protocol error: too big inline request\r\n")
    );
    assert_eq!(run(&inline[..INLINE_MAX]).end, End::Waiting(INLINE_MAX));
    let mut count = b"*".to_vec();
    count.resize(INLINE_MAX + 1, b'1');
    assert_eq!(
        run(&count).end,
        error(b"-ERR Protocol error: too big mbulk count string\r\n")
    );
    let mut bulk = b"*1\r\n$".to_vec();
    bulk.resize(4 + INLINE_MAX + 1, b'1');
    assert_eq!(
        run(&bulk).end,
        error(b"-ERR Protocol error: too big bulk count string\r\n")
    );
    // A 512 MB bulk header is accepted (the body is then awaited).
    let r = run(b"*1\r\n$536870912\r\nab");
    assert_eq!(r.end, End::Waiting(18));
}

#[test]
fn commands_before_an_error_are_parsed() {
    let r = run(b"PING\r\nSET a 1\r\n*x\r\nPING\r\n");
    assert_eq!(
        r.requests,
        vec![req(&[b"PING"]), req(&[b"SET", b"a", b"1"])]
    );
    assert_eq!(
        r.end,
        error(b"-ERR Protocol error: invalid multibulk length\r\n")
    );
}

#[test]
fn nul_byte_hides_the_line_end() {
    // strchr stops at NUL: Redis keeps waiting (no reply) for both of these.
    assert_eq!(run(b"PI\0NG\r\n").end, End::Waiting(7));
    assert_eq!(run(b"*2\r\n$4\r\nECHO\r\n\0\r\n").end, End::Waiting(17));
    assert!(run(b"*2\r\n$4\r\nECHO\r\n\0\r\n").requests.is_empty());
}

/// A pipeline mixing every request shape.
fn pipeline() -> Vec<u8> {
    let mut buf = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nva\r\nl\r\n".to_vec();
    buf.extend_from_slice(b"PING\r\n*0\r\n\r\nECHO \"a b\" 'c'\n*1\r\n$4\r\nPING\r\n");
    buf.extend_from_slice(b"*2\r\n$3\r\nGET\r\n$0\r\n\r\n");
    buf
}

#[test]
fn split_at_every_byte_position() {
    let buf = pipeline();
    let whole = run(&buf);
    assert_eq!(whole.requests.len(), 5);
    for at in 0..=buf.len() {
        assert_eq!(feed(&[&buf[..at], &buf[at..]]), whole, "split at {at}");
    }
    let bytes: Vec<&[u8]> = buf.chunks(1).collect();
    assert_eq!(feed(&bytes), whole, "one byte at a time");
}

#[test]
fn split_protocol_error_at_every_byte_position() {
    let buf = b"PING\r\n*2\r\n$4\r\nECHO\r\n+3\r\nabc\r\n";
    let whole = run(buf);
    for at in 0..=buf.len() {
        assert_eq!(feed(&[&buf[..at], &buf[at..]]), whole, "split at {at}");
    }
}

#[test]
fn needed_hint_for_a_big_bulk() {
    let mut parser = Parser::new();
    let mut args = Args::new();
    let value = vec![b'v'; 1 << 20];
    let mut buf = format!("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${}\r\n", value.len()).into_bytes();
    let header = buf.len();
    buf.extend_from_slice(&value[..1000]);
    assert_eq!(
        parser.parse(&buf, &mut args),
        Parsed::Incomplete {
            needed: value.len() - 1000 + 2
        }
    );
    buf.extend_from_slice(&value[1000..]);
    buf.extend_from_slice(b"\r\n");
    assert_eq!(
        parser.parse(&buf, &mut args),
        Parsed::Complete {
            consumed: header + value.len() + 2
        }
    );
    assert_eq!(args.len(), 3);
    assert_eq!(args.get(2), &value[..]);
}

#[test]
fn resumes_without_rereading_bulks() {
    // A parser that lost its state re-reads from the start and gets the same result.
    let buf = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
    let mut args = Args::new();
    let mut parser = Parser::new();
    assert!(matches!(
        parser.parse(&buf[..20], &mut args),
        Parsed::Incomplete { .. }
    ));
    assert_eq!(args.len(), 2);
    assert_eq!(
        parser.parse(buf, &mut args),
        Parsed::Complete {
            consumed: buf.len()
        }
    );
    assert_eq!(args.iter().collect::<Vec<_>>(), [&b"SET"[..], b"k", b"v"]);
    let mut fresh = Parser::new();
    let mut other = Args::new();
    other.push(b"junk");
    assert_eq!(
        fresh.parse(buf, &mut other),
        Parsed::Complete {
            consumed: buf.len()
        }
    );
    assert_eq!(other, args);
}

#[test]
fn one_mib_bulk() {
    let value: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
    let mut buf = format!("*2\r\n$4\r\nECHO\r\n${}\r\n", value.len()).into_bytes();
    buf.extend_from_slice(&value);
    buf.extend_from_slice(b"\r\n");
    let r = run(&buf);
    assert_eq!(r.requests, vec![vec![b"ECHO".to_vec(), value]]);
}

#[test]
fn args_get_out_of_range_is_empty() {
    let mut a = Args::new();
    a.push(b"x");
    assert_eq!(a.get(0), b"x");
    assert_eq!(a.get(1), b"");
    a.clear();
    assert!(a.is_empty());
}

/// xorshift64*: deterministic pseudo-random bytes for the fuzz tests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn byte(&mut self) -> u8 {
        // Bias towards the bytes the grammar cares about.
        const SPECIAL: &[u8] = b"*$\r\n\"'\\ x0123456789-\0";
        let r = self.next();
        if r.is_multiple_of(3) {
            (r >> 8) as u8
        } else {
            SPECIAL[(r >> 8) as usize % SPECIAL.len()]
        }
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        let len = (rng.next() % 64) as usize;
        let buf: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
        let whole = run(&buf);
        let at = if len == 0 {
            0
        } else {
            (rng.next() as usize) % len
        };
        assert_eq!(
            feed(&[&buf[..at], &buf[at..]]),
            whole,
            "{}",
            buf.escape_ascii()
        );
    }
}

#[test]
fn mutated_requests_never_panic() {
    let base = pipeline();
    let mut rng = Rng(42);
    for _ in 0..20_000 {
        let mut buf = base.clone();
        for _ in 0..1 + rng.next() % 4 {
            let at = (rng.next() as usize) % buf.len();
            buf[at] = rng.byte();
        }
        let whole = run(&buf);
        let at = (rng.next() as usize) % buf.len();
        assert_eq!(feed(&[&buf[..at], &buf[at..]]), whole);
    }
}

#[test]
fn string2ll_is_strict() {
    assert_eq!(string2ll(b"0"), Some(0));
    assert_eq!(string2ll(b"-1"), Some(-1));
    assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
    assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
    for bad in [
        &b""[..],
        b"-",
        b"-0",
        b"01",
        b"+1",
        b" 1",
        b"1 ",
        b"1.5",
        b"9223372036854775808",
        b"-9223372036854775809",
        b"99999999999999999999",
        b"123456789012345678901",
    ] {
        assert_eq!(string2ll(bad), None, "{}", bad.escape_ascii());
    }
}

#[test]
fn reply_writers() {
    let mut out = Vec::new();
    reply::simple(&mut out, b"PONG");
    reply::error(&mut out, b"syntax error");
    reply::error(&mut out, b"-NOPROTO unsupported protocol version");
    reply::error_sanitized(&mut out, b"\r\nUnsupported option \nFOO\r");
    reply::integer(&mut out, -9223372036854775808);
    reply::integer(&mut out, 0);
    reply::bulk(&mut out, b"a\r\nb");
    reply::null_bulk(&mut out);
    reply::array_len(&mut out, 3);
    assert_eq!(
        out,
        b"+PONG\r\n-ERR syntax error\r\n-NOPROTO unsupported protocol version\r\n\
          -ERR Unsupported option  FOO\r\n:-9223372036854775808\r\n:0\r\n$4\r\na\r\nb\r\n\
          $-1\r\n*3\r\n"
    );
}
