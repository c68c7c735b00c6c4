//! Connection and server commands that touch no key: PING, SELECT, HELLO, CLIENT
//! SETNAME/GETNAME/ID/HELP, CONFIG GET/HELP, COMMAND (COUNT, INFO, DOCS, HELP) and INFO, as
//! Redis 7.0 answers them (`networking.c`, `config.c`, `server.c`). Arity was checked by the
//! caller.

use super::{cstr, is, lookup, lookup_sub, table, Session};
use crate::resp::{reply, string2ll, Args};

/// The Redis version this engine answers as (HELLO, INFO).
pub(super) const REDIS_VERSION: &str = "7.0.15";

/// `PING [message]`.
pub(super) fn ping(args: &Args, out: &mut Vec<u8>) {
    match args.len() {
        1 => reply::simple(out, b"PONG"),
        2 => reply::bulk(out, args.get(1)),
        _ => reply::error(out, b"wrong number of arguments for 'ping' command"),
    }
}

/// SELECT index: only database 0 exists (Redis started with `--databases 1`).
pub(super) fn select(args: &Args, out: &mut Vec<u8>) {
    match string2ll(args.get(1)) {
        None => out.extend_from_slice(reply::NOT_INTEGER),
        Some(v) if i32::try_from(v).is_err() => reply::error(
            out,
            b"value is out of range, value must between -2147483648 and 2147483647",
        ),
        Some(0) => out.extend_from_slice(reply::OK),
        Some(_) => reply::error(out, b"DB index is out of range"),
    }
}

/// Redis `clientSetName`: an empty name clears it; otherwise only `!`..`~` are allowed.
fn set_name(session: &mut Session, name: &[u8]) -> bool {
    if name.is_empty() {
        session.name = None;
        return true;
    }
    if name.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return false;
    }
    session.name = Some(name.into());
    true
}

const BAD_NAME: &[u8] = b"Client names cannot contain spaces, newlines or special characters.";

/// CLIENT SETNAME name.
pub(super) fn client_setname(session: &mut Session, args: &Args, out: &mut Vec<u8>) {
    if set_name(session, args.get(2)) {
        out.extend_from_slice(reply::OK);
    } else {
        reply::error(out, BAD_NAME);
    }
}

/// CLIENT GETNAME.
pub(super) fn client_getname(session: &Session, out: &mut Vec<u8>) {
    match session.name() {
        Some(name) => reply::bulk(out, name),
        None => reply::null_bulk(out),
    }
}

/// `HELLO [protover [AUTH user pass] [SETNAME name]]`: RESP2 only, so any version but 2 gets
/// `-NOPROTO` (Redis would switch to RESP3 for 3). There are no ACL users: `default` accepts any
/// password, as Redis's `default` user with `nopass` does.
pub(super) fn hello(session: &mut Session, args: &Args, out: &mut Vec<u8>) {
    let mut j = 1;
    if args.len() >= 2 {
        match string2ll(args.get(1)) {
            None => {
                reply::error(out, b"Protocol version is not an integer or out of range");
                return;
            }
            Some(2) => j = 2,
            Some(_) => {
                reply::error(out, b"-NOPROTO unsupported protocol version");
                return;
            }
        }
    }
    while j < args.len() {
        let more = args.len() - 1 - j;
        let opt = args.get(j);
        if is(opt, b"auth") && more >= 2 {
            if args.get(j + 1) != b"default" {
                reply::error(
                    out,
                    b"-WRONGPASS invalid username-password pair or user is disabled.",
                );
                return;
            }
            j += 2;
        } else if is(opt, b"setname") && more >= 1 {
            if !set_name(session, args.get(j + 1)) {
                reply::error(out, BAD_NAME);
                return;
            }
            j += 1;
        } else {
            let mut msg = b"Syntax error in HELLO option '".to_vec();
            msg.extend_from_slice(cstr(opt));
            msg.push(b'\'');
            reply::error_sanitized(out, &msg);
            return;
        }
        j += 1;
    }
    reply::array_len(out, 14);
    for (k, v) in [("server", "redis"), ("version", REDIS_VERSION)] {
        reply::bulk(out, k.as_bytes());
        reply::bulk(out, v.as_bytes());
    }
    reply::bulk(out, b"proto");
    reply::integer(out, 2);
    reply::bulk(out, b"id");
    reply::integer(out, session.id() as i64);
    for (k, v) in [("mode", "standalone"), ("role", "master")] {
        reply::bulk(out, k.as_bytes());
        reply::bulk(out, v.as_bytes());
    }
    reply::bulk(out, b"modules");
    reply::array_len(out, 0);
}

/// The configuration parameters CONFIG GET knows, with their values.
fn config_params(session: &Session) -> [(&'static str, Vec<u8>); 5] {
    let mut max = Vec::new();
    reply::decimal(
        &mut max,
        session.config().max_memory.min(i64::MAX as u64) as i64,
    );
    [
        ("save", Vec::new()),
        ("appendonly", b"no".to_vec()),
        ("maxmemory", max),
        ("maxmemory-policy", b"noeviction".to_vec()),
        ("databases", b"1".to_vec()),
    ]
}

/// `CONFIG GET pattern [pattern ...]` (`configGetCommand`): a name without `[*?` is looked up
/// case-insensitively and echoed as typed; a glob matches the canonical names. Each parameter is
/// answered once; Redis's order for several parameters is its hash order, ours the table's.
pub(super) fn config_get(session: &Session, args: &Args, out: &mut Vec<u8>) {
    let params = config_params(session);
    let mut matches: Vec<(&[u8], usize)> = Vec::new();
    let seen = |m: &[(&[u8], usize)], i: usize| m.iter().any(|&(_, j)| j == i);
    for pattern in args.iter().skip(2) {
        if !cstr(pattern).iter().any(|b| b"[*?".contains(b)) {
            let found = params
                .iter()
                .position(|(name, _)| pattern.eq_ignore_ascii_case(name.as_bytes()));
            if let Some(i) = found.filter(|&i| !seen(&matches, i)) {
                matches.push((cstr(pattern), i));
            }
            continue;
        }
        for (i, (name, _)) in params.iter().enumerate() {
            if !seen(&matches, i) && glob(cstr(pattern), name.as_bytes(), &mut false) {
                matches.push((name.as_bytes(), i));
            }
        }
    }
    reply::array_len(out, matches.len() * 2);
    for (key, i) in matches {
        reply::bulk(out, key);
        reply::bulk(out, &params[i].1);
    }
}

/// Redis `stringmatchlen` with `nocase`, reading past either end as a NUL byte like the C code.
fn glob(pat: &[u8], s: &[u8], skip_longer: &mut bool) -> bool {
    let pc = |i: usize| pat.get(i).copied().unwrap_or(0);
    let sc = |i: usize| s.get(i).copied().unwrap_or(0).to_ascii_lowercase();
    let (mut p, mut i) = (0, 0);
    while p < pat.len() && i < s.len() {
        match pc(p) {
            b'*' => {
                while p < pat.len() && pc(p + 1) == b'*' {
                    p += 1;
                }
                if pat.len() - p == 1 {
                    return true;
                }
                while i < s.len() {
                    if glob(&pat[p + 1..], &s[i..], skip_longer) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    i += 1;
                }
                *skip_longer = true;
                return false;
            }
            b'?' => i += 1,
            b'[' => {
                p += 1;
                let not = pc(p) == b'^';
                if not {
                    p += 1;
                }
                let mut matched = false;
                loop {
                    let left = pat.len() - p;
                    if pc(p) == b'\\' && left >= 2 {
                        p += 1;
                        matched |= pc(p).to_ascii_lowercase() == sc(i);
                    } else if pc(p) == b']' {
                        break;
                    } else if left == 0 {
                        p -= 1;
                        break;
                    } else if left >= 3 && pc(p + 1) == b'-' {
                        let (a, b) = (pc(p).to_ascii_lowercase(), pc(p + 2).to_ascii_lowercase());
                        let (lo, hi) = if a > b { (b, a) } else { (a, b) };
                        matched |= (lo..=hi).contains(&sc(i));
                        p += 2;
                    } else {
                        matched |= pc(p).to_ascii_lowercase() == sc(i);
                    }
                    p += 1;
                }
                if matched == not {
                    return false;
                }
                i += 1;
            }
            c => {
                let c = if c == b'\\' && pat.len() - p >= 2 {
                    p += 1;
                    pc(p)
                } else {
                    c
                };
                if c.to_ascii_lowercase() != sc(i) {
                    return false;
                }
                i += 1;
            }
        }
        p += 1;
        if i == s.len() {
            while pc(p) == b'*' {
                p += 1;
            }
            break;
        }
    }
    p >= pat.len() && i == s.len()
}

/// The replies to CONFIG HELP, CLIENT HELP and COMMAND HELP: Redis's lines for the subcommands
/// implemented here only.
pub(super) const CONFIG_HELP: &[&str] = &[
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "HELP",
    "    Prints this help.",
];
/// See [`CONFIG_HELP`].
pub(super) const CLIENT_HELP: &[&str] = &[
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "HELP",
    "    Prints this help.",
];
/// See [`CONFIG_HELP`].
pub(super) const COMMAND_HELP: &[&str] = &[
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "HELP",
    "    Prints this help.",
];

/// A HELP reply: an array of status lines.
pub(super) fn help(lines: &[&str], out: &mut Vec<u8>) {
    reply::array_len(out, lines.len());
    for line in lines {
        reply::simple(out, line.as_bytes());
    }
}

/// COMMAND: every command's entry.
pub(super) fn command_all(out: &mut Vec<u8>) {
    reply::array_len(out, table::COMMANDS.len());
    for spec in &table::COMMANDS {
        out.extend_from_slice(spec.info);
    }
}

/// COMMAND COUNT.
pub(super) fn command_count(out: &mut Vec<u8>) {
    reply::integer(out, table::COMMANDS.len() as i64);
}

/// A command or subcommand by full name (`get`, `config|get`), as `lookupCommandBySds`.
fn spec_by_name(name: &[u8]) -> Option<&'static table::Spec> {
    let mut parts = name.split(|&b| b == b'|');
    let base = lookup(parts.next()?)?;
    match (parts.next(), parts.next()) {
        (None, _) => Some(base.spec()),
        (Some(sub), None) if base.is_container() => lookup_sub(base, sub).map(|s| s.spec()),
        _ => None,
    }
}

/// `COMMAND INFO [name ...]`: entries in request order, nil for unknown names; all without names.
pub(super) fn command_info(args: &Args, out: &mut Vec<u8>) {
    if args.len() == 2 {
        return command_all(out);
    }
    reply::array_len(out, args.len() - 2);
    for name in args.iter().skip(2) {
        match spec_by_name(name) {
            Some(spec) => out.extend_from_slice(spec.info),
            None => reply::null_bulk(out),
        }
    }
}

/// `COMMAND DOCS [name ...]`: a map (flat array) of the known names to their docs; all commands
/// without names.
pub(super) fn command_docs(args: &Args, out: &mut Vec<u8>) {
    let found: Vec<&table::Spec> = if args.len() == 2 {
        table::COMMANDS.iter().collect()
    } else {
        args.iter().skip(2).filter_map(spec_by_name).collect()
    };
    reply::array_len(out, found.len() * 2);
    for spec in found {
        reply::bulk(out, spec.name.as_bytes());
        out.extend_from_slice(spec.docs);
    }
}

/// `INFO [section ...]`: a short `# Server` section for no argument, `server`, `default`, `all`
/// or `everything`; an empty string for other sections (as Redis does for unknown ones).
pub(super) fn info(session: &Session, now_ms: u64, args: &Args, out: &mut Vec<u8>) {
    let server = args.len() == 1
        || args.iter().skip(1).any(|s| {
            [&b"server"[..], b"default", b"all", b"everything"]
                .iter()
                .any(|w| is(s, w))
        });
    if !server {
        return reply::bulk(out, b"");
    }
    let config = session.config();
    let uptime = now_ms.saturating_sub(config.started_ms) / 1000;
    let mut text = Vec::with_capacity(160);
    text.extend_from_slice(b"# Server\r\nredis_version:");
    text.extend_from_slice(REDIS_VERSION.as_bytes());
    text.extend_from_slice(b"\r\nredis_mode:standalone\r\narch_bits:64\r\ntcp_port:");
    reply::decimal(&mut text, i64::from(config.tcp_port));
    text.extend_from_slice(b"\r\nuptime_in_seconds:");
    reply::decimal(&mut text, uptime as i64);
    text.extend_from_slice(b"\r\nuptime_in_days:");
    reply::decimal(&mut text, (uptime / 86400) as i64);
    text.extend_from_slice(b"\r\n");
    reply::bulk(out, &text);
}
