//! Live comparison of a Redis-protocol server against a reference redis-server 7.0.x.
//!
//! [`cases`] lists requests covering every command, option and error the `kv` example
//! implements (pipelined, inline, split across reads, protocol errors); [`exchange`] runs one on
//! a fresh connection and returns the reply bytes; [`compare`] runs them all against both servers
//! and reports every difference with both replies escaped.
//!
//! The reference runs without persistence and with the subject's memory budget:
//! `redis-server --port P --save '' --appendonly no --maxmemory <bytes>` (the subject started
//! with the same `--maxmemory`, so both answer `CONFIG GET maxmemory` alike). The engine has a
//! single database, like `redis-server --databases 1`: the cases leave out what only that setting
//! decides (`SELECT 1`..`SELECT 15`, `CONFIG GET databases`), so a reference with the default 16
//! databases matches too. [`oom_cases`] need both servers limited to one byte (`--maxmemory 1` on
//! both), so that every write is refused.
//!
//! Each exchange first sends `FLUSHALL` on its connection (its `+OK` is not part of the reply),
//! so cases do not depend on each other's keys or on the order they run in. Replies that differ
//! by nature (client ids, most of INFO) are masked before comparing ([`Mask`]); timing-dependent
//! replies are avoided (TTL right after `EX 100` is 100 on both, PTTL is never compared).

use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread::sleep;
use std::time::Duration;

mod connection;
mod keys;
mod protocol;

pub use keys::oom_cases;

/// How a reply is normalized before comparing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mask {
    /// Byte for byte.
    Exact,
    /// Every integer reply (`:<n>`) becomes `:#` (client ids, HELLO's `id`).
    Integers,
    /// A bulk reply of `INFO` lines: keep only the lines of fields both servers must agree on.
    InfoFields,
}

/// One request and what to expect of it.
#[derive(Debug, Clone)]
pub struct Case {
    /// Short unique name, printed with a difference.
    pub name: &'static str,
    /// Bytes sent on the fresh connection.
    pub request: Vec<u8>,
    /// The server closes the connection after its reply (QUIT, protocol errors).
    pub closes: bool,
    /// Offsets in `request` where the sender pauses, so the parts arrive in separate reads.
    pub pauses: Vec<usize>,
    /// Normalization before comparing.
    pub mask: Mask,
}

const SENTINEL: &[u8] = b"redis-cases-sentinel";
const SENTINEL_REQUEST: &[u8] = b"*2\r\n$4\r\nECHO\r\n$20\r\nredis-cases-sentinel\r\n";
const SENTINEL_REPLY: &[u8] = b"$20\r\nredis-cases-sentinel\r\n";
const TIMEOUT: Duration = Duration::from_secs(5);

/// A multibulk request from arguments.
fn mb(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A pipeline of multibulk requests, each given as space-separated words.
fn pipe(lines: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in lines {
        let words: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        out.extend_from_slice(&mb(&words));
    }
    out
}

fn case(name: &'static str, request: Vec<u8>) -> Case {
    Case {
        name,
        request,
        closes: false,
        pauses: Vec::new(),
        mask: Mask::Exact,
    }
}

fn closing(name: &'static str, request: Vec<u8>) -> Case {
    Case {
        closes: true,
        ..case(name, request)
    }
}

fn masked(name: &'static str, request: Vec<u8>, mask: Mask) -> Case {
    Case {
        mask,
        ..case(name, request)
    }
}

/// 1 MiB of varied bytes, CR, LF and NUL included.
fn big_value() -> Vec<u8> {
    (0..1 << 20)
        .map(|i: u32| (i.wrapping_mul(31) % 251) as u8)
        .collect()
}

/// Every comparison case (see the module documentation for how the servers must be started).
pub fn cases() -> Vec<Case> {
    [connection::cases(), keys::cases(), protocol::cases()].concat()
}

/// Runs `case` on a fresh connection to `addr` (after a `FLUSHALL` whose reply is dropped) and
/// returns the reply bytes: up to the end of stream for a closing case, else everything before
/// the reply to a sentinel `ECHO` sent after the request.
pub fn exchange(addr: SocketAddr, case: &Case) -> io::Result<Vec<u8>> {
    let mut s = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    s.set_read_timeout(Some(TIMEOUT))?;
    s.set_write_timeout(Some(TIMEOUT))?;
    s.set_nodelay(true)?;
    s.write_all(b"*1\r\n$8\r\nFLUSHALL\r\n")?;
    let mut ok = [0u8; 5];
    s.read_exact(&mut ok)?;
    if &ok != b"+OK\r\n" {
        return Err(io::Error::other(format!(
            "FLUSHALL answered {}",
            escape(&ok)
        )));
    }
    let mut request = case.request.clone();
    if !case.closes {
        request.extend_from_slice(SENTINEL_REQUEST);
    }
    let mut from = 0;
    let mut cuts: Vec<usize> = case
        .pauses
        .iter()
        .copied()
        .filter(|&p| p < request.len())
        .collect();
    cuts.push(request.len());
    for cut in cuts {
        let sent = s.write_all(&request[from..cut]);
        if sent.is_err() && case.closes {
            break; // The server closed early (protocol error): read what it said.
        }
        sent?;
        from = cut;
        if cut < request.len() {
            sleep(Duration::from_millis(50));
        }
    }
    let mut reply = Vec::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        if !case.closes && reply.ends_with(SENTINEL_REPLY) {
            reply.truncate(reply.len() - SENTINEL_REPLY.len());
            return Ok(reply);
        }
        match s.read(&mut buf) {
            Ok(0) if case.closes => return Ok(reply),
            Ok(0) => {
                return Err(io::Error::other(format!(
                    "connection closed before the sentinel, after {}",
                    escape(&reply)
                )))
            }
            Ok(n) => reply.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if case.closes && e.kind() == ErrorKind::ConnectionReset => return Ok(reply),
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!(
                        "{e} after {} (sentinel {})",
                        escape(&reply),
                        escape(SENTINEL)
                    ),
                ))
            }
        }
    }
}

/// INFO fields both servers must report identically.
const INFO_FIELDS: &[&str] = &["# Server", "redis_version:", "redis_mode:", "arch_bits:"];

fn normalize(mask: Mask, reply: Vec<u8>) -> Vec<u8> {
    match mask {
        Mask::Exact => reply,
        Mask::Integers => {
            let mut out = Vec::with_capacity(reply.len());
            for line in reply.split_inclusive(|&b| b == b'\n') {
                let is_int = line.len() > 3
                    && line[0] == b':'
                    && line.ends_with(b"\r\n")
                    && line[1..line.len() - 2]
                        .iter()
                        .all(|&b| b.is_ascii_digit() || b == b'-');
                out.extend_from_slice(if is_int { b":#\r\n" } else { line });
            }
            out
        }
        Mask::InfoFields => {
            let text = String::from_utf8_lossy(&reply);
            let mut out = String::new();
            for line in text.split("\r\n") {
                if line.starts_with('$') {
                    out.push_str("$<bulk>\r\n");
                } else if INFO_FIELDS.iter().any(|f| line.starts_with(f)) {
                    out.push_str(line);
                    out.push_str("\r\n");
                }
            }
            out.into_bytes()
        }
    }
}

/// Bytes as a readable string: printable ASCII as is, `\r \n \t \\ \0` and `\xHH` escapes;
/// long inputs keep their first and last 200 bytes.
pub fn escape(bytes: &[u8]) -> String {
    let show = |b: &[u8]| -> String { b.escape_ascii().to_string() };
    if bytes.len() <= 480 {
        show(bytes)
    } else {
        format!(
            "{} ...({} bytes)... {}",
            show(&bytes[..200]),
            bytes.len() - 400,
            show(&bytes[bytes.len() - 200..])
        )
    }
}

fn describe(r: &io::Result<Vec<u8>>) -> String {
    match r {
        Ok(b) => format!("{} ({} bytes)", escape(b), b.len()),
        Err(e) => format!("<error: {e}>"),
    }
}

/// Runs `cases` against both servers; `Err` lists every case whose (normalized) replies differ,
/// with the request, both replies and the first differing offset.
pub fn compare_cases(
    reference: SocketAddr,
    subject: SocketAddr,
    cases: &[Case],
) -> Result<(), String> {
    let mut report = String::new();
    let mut differ = 0;
    for case in cases {
        let want = exchange(reference, case).map(|r| normalize(case.mask, r));
        let got = exchange(subject, case).map(|r| normalize(case.mask, r));
        if let (Ok(a), Ok(b)) = (&want, &got) {
            if a == b {
                continue;
            }
        }
        differ += 1;
        let offset = match (&want, &got) {
            (Ok(a), Ok(b)) => {
                let at = a
                    .iter()
                    .zip(b)
                    .position(|(x, y)| x != y)
                    .unwrap_or(a.len().min(b.len()));
                format!(" (first difference at byte {at})")
            }
            _ => String::new(),
        };
        report.push_str(&format!(
            "case {}{offset}\n  request:   {}\n  reference: {}\n  subject:   {}\n",
            case.name,
            escape(&case.request),
            describe(&want),
            describe(&got),
        ));
    }
    if differ == 0 {
        Ok(())
    } else {
        Err(format!(
            "{differ} of {} cases differ:\n{report}",
            cases.len()
        ))
    }
}

/// [`compare_cases`] with [`cases`].
pub fn compare(reference: SocketAddr, subject: SocketAddr) -> Result<(), String> {
    compare_cases(reference, subject, &cases())
}
