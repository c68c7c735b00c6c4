//! Command dispatch: naming, arity and routing of requests, and their execution against a
//! [`Store`] with Redis 7.0's exact replies and error texts.
//!
//! This module owns what happens between a parsed request ([`Args`]) and its reply bytes:
//! - [`classify`] tells a sharded service where a request must run (which argument is the key,
//!   which arguments are keys of a multi-key command, or every shard);
//! - [`execute`] runs a request against one shard's store and appends the reply;
//! - [`merge`] holds the pure functions that merge the replies of a multi-key command split
//!   across shards into the reply Redis gives for the whole command.
//!
//! Errors are checked in Redis's order (`processCommand`): the `POST`/`Host:` guard, unknown
//! command or subcommand, arity, then each command's own checks. Option keywords are compared as
//! Redis compares them, as C strings (`strcasecmp`), so an argument is cut at its first NUL byte
//! before the comparison.

mod keyspace;
pub mod merge;
mod server;
mod table;
#[cfg(test)]
mod tests;

use crate::resp::{reply, Args};
use crate::store::Store;

/// The commands this engine implements, in the order of [`table::COMMANDS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmd {
    Ping,
    Echo,
    Set,
    Get,
    Del,
    Exists,
    Incr,
    Decr,
    IncrBy,
    DecrBy,
    MSet,
    MGet,
    Expire,
    PExpire,
    Ttl,
    PTtl,
    Persist,
    DbSize,
    FlushAll,
    FlushDb,
    Quit,
    Select,
    Command,
    Config,
    Hello,
    Client,
    Info,
}

/// The subcommands this engine implements, in the order of [`table::SUBCOMMANDS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sub {
    CommandCount,
    CommandDocs,
    CommandInfo,
    CommandHelp,
    ConfigGet,
    ConfigHelp,
    ClientSetName,
    ClientGetName,
    ClientId,
    ClientHelp,
}

impl Cmd {
    fn spec(self) -> &'static table::Spec {
        &table::COMMANDS[self as usize]
    }

    fn is_container(self) -> bool {
        matches!(self, Cmd::Command | Cmd::Config | Cmd::Client)
    }
}

impl Sub {
    fn spec(self) -> &'static table::Spec {
        &table::SUBCOMMANDS[self as usize]
    }
}

/// Lower-cases `name` into `buf` if it fits, for matching against command names.
fn lower<'a>(name: &[u8], buf: &'a mut [u8; 16]) -> Option<&'a [u8]> {
    let dst = buf.get_mut(..name.len())?;
    for (d, s) in dst.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    Some(dst)
}

/// The command named `name` (case-insensitive, whole argument).
pub(crate) fn lookup(name: &[u8]) -> Option<Cmd> {
    let mut buf = [0u8; 16];
    Some(match lower(name, &mut buf)? {
        b"ping" => Cmd::Ping,
        b"echo" => Cmd::Echo,
        b"set" => Cmd::Set,
        b"get" => Cmd::Get,
        b"del" => Cmd::Del,
        b"exists" => Cmd::Exists,
        b"incr" => Cmd::Incr,
        b"decr" => Cmd::Decr,
        b"incrby" => Cmd::IncrBy,
        b"decrby" => Cmd::DecrBy,
        b"mset" => Cmd::MSet,
        b"mget" => Cmd::MGet,
        b"expire" => Cmd::Expire,
        b"pexpire" => Cmd::PExpire,
        b"ttl" => Cmd::Ttl,
        b"pttl" => Cmd::PTtl,
        b"persist" => Cmd::Persist,
        b"dbsize" => Cmd::DbSize,
        b"flushall" => Cmd::FlushAll,
        b"flushdb" => Cmd::FlushDb,
        b"quit" => Cmd::Quit,
        b"select" => Cmd::Select,
        b"command" => Cmd::Command,
        b"config" => Cmd::Config,
        b"hello" => Cmd::Hello,
        b"client" => Cmd::Client,
        b"info" => Cmd::Info,
        _ => return None,
    })
}

/// The subcommand `name` of `container` (case-insensitive).
pub(crate) fn lookup_sub(container: Cmd, name: &[u8]) -> Option<Sub> {
    let mut buf = [0u8; 16];
    Some(match (container, lower(name, &mut buf)?) {
        (Cmd::Command, b"count") => Sub::CommandCount,
        (Cmd::Command, b"docs") => Sub::CommandDocs,
        (Cmd::Command, b"info") => Sub::CommandInfo,
        (Cmd::Command, b"help") => Sub::CommandHelp,
        (Cmd::Config, b"get") => Sub::ConfigGet,
        (Cmd::Config, b"help") => Sub::ConfigHelp,
        (Cmd::Client, b"setname") => Sub::ClientSetName,
        (Cmd::Client, b"getname") => Sub::ClientGetName,
        (Cmd::Client, b"id") => Sub::ClientId,
        (Cmd::Client, b"help") => Sub::ClientHelp,
        _ => return None,
    })
}

/// What a request resolves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Cmd(Cmd),
    Sub(Sub),
}

/// Why a request is rejected before running (Redis `commandCheckExistence` / `Arity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reject {
    UnknownCommand,
    UnknownSubcommand,
    Arity(&'static str),
}

fn arity_ok(arity: i32, argc: usize) -> bool {
    let argc = i64::try_from(argc).unwrap_or(i64::MAX);
    let arity = i64::from(arity);
    if arity > 0 {
        argc == arity
    } else {
        argc >= -arity
    }
}

/// Redis `lookupCommand` then the existence and arity checks; `args` is not empty.
fn resolve(args: &Args) -> Result<Target, Reject> {
    let cmd = lookup(args.get(0)).ok_or(Reject::UnknownCommand)?;
    let (target, spec) = if cmd.is_container() && args.len() > 1 {
        let sub = lookup_sub(cmd, args.get(1)).ok_or(Reject::UnknownSubcommand)?;
        (Target::Sub(sub), sub.spec())
    } else {
        (Target::Cmd(cmd), cmd.spec())
    };
    if arity_ok(spec.arity, args.len()) {
        Ok(target)
    } else {
        Err(Reject::Arity(spec.name))
    }
}

impl Reject {
    fn write(self, args: &Args, out: &mut Vec<u8>) {
        let mut msg = Vec::with_capacity(200);
        match self {
            Reject::UnknownCommand => {
                msg.extend_from_slice(b"unknown command '");
                msg.extend_from_slice(prefix(cstr(args.get(0)), 128));
                msg.extend_from_slice(b"', with args beginning with: ");
                let start = msg.len();
                for arg in args.iter().skip(1) {
                    let len = msg.len() - start;
                    if len >= 128 {
                        break;
                    }
                    msg.push(b'\'');
                    msg.extend_from_slice(prefix(cstr(arg), 128 - len));
                    msg.extend_from_slice(b"' ");
                }
            }
            Reject::UnknownSubcommand => {
                msg.extend_from_slice(b"unknown subcommand '");
                msg.extend_from_slice(prefix(cstr(args.get(1)), 128));
                msg.extend_from_slice(b"'. Try ");
                msg.extend(cstr(args.get(0)).iter().map(u8::to_ascii_uppercase));
                msg.extend_from_slice(b" HELP.");
            }
            Reject::Arity(name) => {
                msg.extend_from_slice(b"wrong number of arguments for '");
                msg.extend_from_slice(name.as_bytes());
                msg.extend_from_slice(b"' command");
            }
        }
        for b in msg.iter_mut() {
            if *b == b'\r' || *b == b'\n' {
                *b = b' ';
            }
        }
        reply::error(out, &msg);
    }
}

/// The part of `arg` a C function sees: up to its first NUL byte.
pub(crate) fn cstr(arg: &[u8]) -> &[u8] {
    arg.iter().position(|&b| b == 0).map_or(arg, |i| &arg[..i])
}

/// The first `n` bytes of `s` (printf `%.*s`).
fn prefix(s: &[u8], n: usize) -> &[u8] {
    &s[..s.len().min(n)]
}

/// `strcasecmp(arg, word) == 0` for an ASCII `word`.
pub(crate) fn is(arg: &[u8], word: &[u8]) -> bool {
    cstr(arg).eq_ignore_ascii_case(word)
}

/// Redis's guard against HTTP requests sent to its port (`POST`, `Host:`): the connection is
/// dropped without a reply ([`Outcome::Abort`]).
fn is_http_probe(name: &[u8]) -> bool {
    is(name, b"post") || is(name, b"host:")
}

/// Keys of a multi-key command, for routing its parts to shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MultiKind {
    /// DEL: merge with [`merge::merge_integer_replies`].
    Del,
    /// EXISTS: merge with [`merge::merge_integer_replies`].
    Exists,
    /// MGET: merge with [`merge::merge_mget`].
    Mget,
    /// MSET (each key is followed by its value): merge with [`merge::merge_ok_replies`].
    Mset,
}

/// Commands that run on every shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllKind {
    /// DBSIZE: merge with [`merge::merge_integer_replies`].
    DbSize,
    /// FLUSHALL (valid arguments): merge with [`merge::merge_ok_replies`].
    FlushAll,
    /// FLUSHDB (valid arguments): merge with [`merge::merge_ok_replies`].
    FlushDb,
}

/// Where a request must run in a keyspace sharded by [`shard_of`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Touches no key (or is rejected before touching any: unknown command, arity error):
    /// execute it with any shard's store, e.g. the connection's own worker's.
    NoKey,
    /// One key, at argument index `key`: execute on `shard_of(args.get(key))`.
    Single {
        /// Argument index of the key.
        key: usize,
    },
    /// Keys at `first`, `first + step`, ...: split with [`merge::split_by_shard`], execute each
    /// part on its shard, merge the replies.
    Multi {
        /// Which command (decides the merge).
        kind: MultiKind,
        /// Argument index of the first key.
        first: usize,
        /// Distance between keys (2 for MSET's key/value pairs).
        step: usize,
    },
    /// Execute the same request on every shard and merge the replies.
    All {
        /// Which command (decides the merge).
        kind: AllKind,
    },
}

/// Routes a request (see [`Class`]). Requests that will be rejected (unknown command, wrong
/// arity, MSET with a key without value, FLUSHALL with bad options) are [`Class::NoKey`], so the
/// error is answered locally.
pub fn classify(args: &Args) -> Class {
    if args.is_empty() || is_http_probe(args.get(0)) {
        return Class::NoKey;
    }
    let Ok(Target::Cmd(cmd)) = resolve(args) else {
        return Class::NoKey;
    };
    match cmd {
        Cmd::Get
        | Cmd::Set
        | Cmd::Incr
        | Cmd::Decr
        | Cmd::IncrBy
        | Cmd::DecrBy
        | Cmd::Expire
        | Cmd::PExpire
        | Cmd::Ttl
        | Cmd::PTtl
        | Cmd::Persist => Class::Single { key: 1 },
        Cmd::Del => multi(MultiKind::Del, 1),
        Cmd::Exists => multi(MultiKind::Exists, 1),
        Cmd::MGet => multi(MultiKind::Mget, 1),
        Cmd::MSet if args.len() % 2 == 1 => multi(MultiKind::Mset, 2),
        Cmd::DbSize => Class::All {
            kind: AllKind::DbSize,
        },
        Cmd::FlushAll if keyspace::flush_mode(args).is_some() => Class::All {
            kind: AllKind::FlushAll,
        },
        Cmd::FlushDb if keyspace::flush_mode(args).is_some() => Class::All {
            kind: AllKind::FlushDb,
        },
        _ => Class::NoKey,
    }
}

fn multi(kind: MultiKind, step: usize) -> Class {
    Class::Multi {
        kind,
        first: 1,
        step,
    }
}

/// The shard owning `key` among `shards` (at least 1): 64-bit FNV-1a of the key bytes, modulo
/// `shards`. FNV-1a is a few instructions per byte, needs no seed (every worker computes the same
/// owner) and spreads typical keys (`key:000123`) evenly. Not hash-flooding resistant, which only
/// matters for shard balance: each shard's own table uses a randomly seeded hash.
pub fn shard_of(key: &[u8], shards: usize) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in key {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h % shards.max(1) as u64) as usize
}

/// Server-wide settings a session reports (CONFIG GET, INFO).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServerConfig {
    /// The configured memory budget in bytes, all shards together (0: unlimited); what
    /// `CONFIG GET maxmemory` answers.
    pub max_memory: u64,
    /// The listening port, for INFO's `tcp_port`.
    pub tcp_port: u16,
    /// `now_ms` when the service started, for INFO's uptime.
    pub started_ms: u64,
}

/// Per-connection state: what HELLO, CLIENT and SELECT read and change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    id: u64,
    name: Option<Box<[u8]>>,
    db: u32,
    config: ServerConfig,
}

impl Session {
    /// A new connection with client id `id` (Redis numbers connections from 1, never reusing an
    /// id) and the server's settings.
    pub fn new(id: u64, config: ServerConfig) -> Session {
        Session {
            id,
            name: None,
            db: 0,
            config,
        }
    }

    /// The client id (CLIENT ID, HELLO).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The name set by CLIENT SETNAME or HELLO SETNAME.
    pub fn name(&self) -> Option<&[u8]> {
        self.name.as_deref()
    }

    /// The selected database: always 0, the only one (SELECT of any other fails).
    #[allow(dead_code)] // Public API; not every service calls it.
    pub fn db(&self) -> u32 {
        self.db
    }

    /// The server settings given to [`Session::new`].
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }
}

/// What the connection does after a request's reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Go on reading requests.
    Continue,
    /// Write what was appended to `out`, then close the connection and ignore further requests
    /// (QUIT).
    Close,
    /// Close the connection at once, discarding every reply not yet sent, those of earlier
    /// requests included: Redis frees a client that sends `POST` or `Host:` (an HTTP request, or
    /// a cross-protocol attack) before writing anything more to it.
    Abort,
}

/// Runs one parsed request against `store` at time `now_ms`, appending its reply to `out`
/// (nothing for an empty request). For a sharded keyspace, `store` must be the shard chosen by
/// [`classify`] (any shard for [`Class::NoKey`]).
pub fn execute(
    session: &mut Session,
    store: &mut Store,
    now_ms: u64,
    args: &Args,
    out: &mut Vec<u8>,
) -> Outcome {
    if args.is_empty() {
        return Outcome::Continue;
    }
    if is_http_probe(args.get(0)) {
        return Outcome::Abort;
    }
    let target = match resolve(args) {
        Ok(target) => target,
        Err(reject) => {
            reject.write(args, out);
            return Outcome::Continue;
        }
    };
    match target {
        Target::Cmd(cmd) => return run(cmd, session, store, now_ms, args, out),
        Target::Sub(sub) => match sub {
            Sub::CommandCount => server::command_count(out),
            Sub::CommandDocs => server::command_docs(args, out),
            Sub::CommandInfo => server::command_info(args, out),
            Sub::CommandHelp => server::help(server::COMMAND_HELP, out),
            Sub::ConfigGet => server::config_get(session, args, out),
            Sub::ConfigHelp => server::help(server::CONFIG_HELP, out),
            Sub::ClientSetName => server::client_setname(session, args, out),
            Sub::ClientGetName => server::client_getname(session, out),
            Sub::ClientId => reply::integer(out, session.id as i64),
            Sub::ClientHelp => server::help(server::CLIENT_HELP, out),
        },
    }
    Outcome::Continue
}

fn run(
    cmd: Cmd,
    session: &mut Session,
    store: &mut Store,
    now_ms: u64,
    args: &Args,
    out: &mut Vec<u8>,
) -> Outcome {
    match cmd {
        Cmd::Ping => server::ping(args, out),
        Cmd::Echo => reply::bulk(out, args.get(1)),
        Cmd::Set => keyspace::set(store, now_ms, args, out),
        Cmd::Get => keyspace::get(store, now_ms, args, out),
        Cmd::Del => reply::integer(out, store.del(args.iter().skip(1), now_ms)),
        Cmd::Exists => reply::integer(out, store.exists(args.iter().skip(1), now_ms)),
        Cmd::Incr => keyspace::incr_by(store, now_ms, args.get(1), 1, out),
        Cmd::Decr => keyspace::incr_by(store, now_ms, args.get(1), -1, out),
        Cmd::IncrBy => keyspace::incrby(store, now_ms, args, false, out),
        Cmd::DecrBy => keyspace::incrby(store, now_ms, args, true, out),
        Cmd::MSet => keyspace::mset(store, now_ms, args, out),
        Cmd::MGet => keyspace::mget(store, now_ms, args, out),
        Cmd::Expire => keyspace::expire(store, now_ms, args, true, out),
        Cmd::PExpire => keyspace::expire(store, now_ms, args, false, out),
        Cmd::Ttl => keyspace::ttl(store, now_ms, args, false, out),
        Cmd::PTtl => keyspace::ttl(store, now_ms, args, true, out),
        Cmd::Persist => reply::integer(out, i64::from(store.persist(args.get(1), now_ms))),
        Cmd::DbSize => reply::integer(out, store.len() as i64),
        Cmd::FlushAll | Cmd::FlushDb => keyspace::flush(store, args, out),
        Cmd::Quit => {
            out.extend_from_slice(reply::OK);
            return Outcome::Close;
        }
        Cmd::Select => server::select(args, out),
        Cmd::Command => server::command_all(out),
        Cmd::Hello => server::hello(session, args, out),
        Cmd::Info => server::info(session, now_ms, args, out),
        // Containers alone fail their arity check in `resolve` (arity -2).
        Cmd::Config | Cmd::Client => Reject::Arity(cmd.spec().name).write(args, out),
    }
    Outcome::Continue
}
