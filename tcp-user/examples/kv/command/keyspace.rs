//! The key commands: SET (all options), GET, INCR/DECR/INCRBY/DECRBY, MSET, MGET, EXPIRE,
//! PEXPIRE, TTL, PTTL, FLUSHALL/FLUSHDB, following `t_string.c`, `expire.c` and `db.c` of Redis
//! 7.0 check for check. Arity was checked by the caller.

use super::is;
use crate::resp::{reply, string2ll, Args};
use crate::store::{IncrError, KeyTtl, OutOfMemory, Store, Ttl};

fn now(now_ms: u64) -> i64 {
    i64::try_from(now_ms).unwrap_or(i64::MAX)
}

fn invalid_expire(out: &mut Vec<u8>, command: &str) {
    out.extend_from_slice(b"-ERR invalid expire time in '");
    out.extend_from_slice(command.as_bytes());
    out.extend_from_slice(b"' command\r\n");
}

const NX: u32 = 1;
const XX: u32 = 1 << 1;
const EX: u32 = 1 << 2;
const PX: u32 = 1 << 3;
const KEEPTTL: u32 = 1 << 4;
const GET: u32 = 1 << 5;
const EXAT: u32 = 1 << 6;
const PXAT: u32 = 1 << 7;

/// `SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]`
/// (`parseExtendedStringArgumentsOrReply`, `setGenericCommand`).
pub(super) fn set(store: &mut Store, now_ms: u64, args: &Args, out: &mut Vec<u8>) {
    let mut flags = 0u32;
    let mut expire: Option<&[u8]> = None;
    let mut j = 3;
    while j < args.len() {
        let opt = args.get(j);
        let next = (j + 1 < args.len()).then(|| args.get(j + 1));
        let none_of = |mask: u32| flags & mask == 0;
        if is(opt, b"nx") && none_of(XX) {
            flags |= NX;
        } else if is(opt, b"xx") && none_of(NX) {
            flags |= XX;
        } else if is(opt, b"get") {
            flags |= GET;
        } else if is(opt, b"keepttl") && none_of(EX | EXAT | PX | PXAT) {
            flags |= KEEPTTL;
        } else if let Some(unit) = [
            (b"ex" as &[u8], EX),
            (b"px", PX),
            (b"exat", EXAT),
            (b"pxat", PXAT),
        ]
        .into_iter()
        .find(|(word, _)| is(opt, word))
        .map(|(_, unit)| unit)
        .filter(|&unit| none_of(KEEPTTL | ((EX | EXAT | PX | PXAT) & !unit)))
        .filter(|_| next.is_some())
        {
            flags |= unit;
            expire = next;
            j += 1;
        } else {
            out.extend_from_slice(reply::SYNTAX_ERROR);
            return;
        }
        j += 1;
    }

    let now = now(now_ms);
    let mut ttl = if flags & KEEPTTL != 0 {
        Ttl::Keep
    } else {
        Ttl::Clear
    };
    if let Some(expire) = expire {
        let Some(mut when) = string2ll(expire) else {
            out.extend_from_slice(reply::NOT_INTEGER);
            return;
        };
        let seconds = flags & (EX | EXAT) != 0;
        if when <= 0 || (seconds && when > i64::MAX / 1000) {
            return invalid_expire(out, "set");
        }
        if seconds {
            when *= 1000;
        }
        if flags & (EX | PX) != 0 {
            when = when.wrapping_add(now);
        }
        if when <= 0 {
            return invalid_expire(out, "set");
        }
        ttl = Ttl::At(when);
    }

    let key = args.get(1);
    let mark = out.len();
    if flags & (NX | XX | GET) != 0 {
        let found = store.get_with(key, now_ms, |old| {
            if flags & GET != 0 {
                match old {
                    Some(v) => reply::bulk(out, v),
                    None => reply::null_bulk(out),
                }
            }
            old.is_some()
        });
        if (flags & NX != 0 && found) || (flags & XX != 0 && !found) {
            if flags & GET == 0 {
                reply::null_bulk(out);
            }
            return;
        }
    }
    if store.set(key, args.get(2), ttl, now_ms) == Err(OutOfMemory) {
        out.truncate(mark);
        out.extend_from_slice(reply::OOM);
        return;
    }
    if flags & GET == 0 {
        out.extend_from_slice(reply::OK);
    }
}

/// GET key.
pub(super) fn get(store: &mut Store, now_ms: u64, args: &Args, out: &mut Vec<u8>) {
    store.get_with(args.get(1), now_ms, |v| match v {
        Some(v) => reply::bulk(out, v),
        None => reply::null_bulk(out),
    });
}

/// INCRBY / DECRBY: the increment argument, then the update.
pub(super) fn incrby(store: &mut Store, now_ms: u64, args: &Args, negate: bool, out: &mut Vec<u8>) {
    let Some(delta) = string2ll(args.get(2)) else {
        out.extend_from_slice(reply::NOT_INTEGER);
        return;
    };
    let delta = if negate {
        if delta == i64::MIN {
            reply::error(out, b"decrement would overflow");
            return;
        }
        -delta
    } else {
        delta
    };
    incr_by(store, now_ms, args.get(1), delta, out);
}

/// `incrDecrCommand`.
pub(super) fn incr_by(store: &mut Store, now_ms: u64, key: &[u8], delta: i64, out: &mut Vec<u8>) {
    match store.incr_by(key, delta, now_ms) {
        Ok(v) => reply::integer(out, v),
        Err(IncrError::NotInteger) => out.extend_from_slice(reply::NOT_INTEGER),
        Err(IncrError::Overflow) => reply::error(out, b"increment or decrement would overflow"),
        Err(IncrError::OutOfMemory) => out.extend_from_slice(reply::OOM),
    }
}

/// `MSET key value [key value ...]`; a key without value is an arity error, as in Redis.
pub(super) fn mset(store: &mut Store, now_ms: u64, args: &Args, out: &mut Vec<u8>) {
    if args.len().is_multiple_of(2) {
        reply::error(out, b"wrong number of arguments for 'mset' command");
        return;
    }
    let pairs = (1..args.len())
        .step_by(2)
        .map(|i| (args.get(i), args.get(i + 1)));
    match store.mset(pairs, now_ms) {
        Ok(()) => out.extend_from_slice(reply::OK),
        Err(OutOfMemory) => out.extend_from_slice(reply::OOM),
    }
}

/// `MGET key [key ...]`.
pub(super) fn mget(store: &mut Store, now_ms: u64, args: &Args, out: &mut Vec<u8>) {
    reply::array_len(out, args.len() - 1);
    for key in args.iter().skip(1) {
        store.get_with(key, now_ms, |v| match v {
            Some(v) => reply::bulk(out, v),
            None => reply::null_bulk(out),
        });
    }
}

const E_NX: u32 = 1;
const E_XX: u32 = 1 << 1;
const E_GT: u32 = 1 << 2;
const E_LT: u32 = 1 << 3;

/// `EXPIRE / PEXPIRE key time [NX|XX|GT|LT]` (`expireGenericCommand`, relative variants).
pub(super) fn expire(
    store: &mut Store,
    now_ms: u64,
    args: &Args,
    seconds: bool,
    out: &mut Vec<u8>,
) {
    let mut flags = 0;
    for opt in args.iter().skip(3) {
        flags |= if is(opt, b"nx") {
            E_NX
        } else if is(opt, b"xx") {
            E_XX
        } else if is(opt, b"gt") {
            E_GT
        } else if is(opt, b"lt") {
            E_LT
        } else {
            let mut msg = b"Unsupported option ".to_vec();
            msg.extend_from_slice(super::cstr(opt));
            reply::error_sanitized(out, &msg);
            return;
        };
    }
    if flags & E_NX != 0 && flags & (E_XX | E_GT | E_LT) != 0 {
        reply::error(
            out,
            b"NX and XX, GT or LT options at the same time are not compatible",
        );
        return;
    }
    if flags & E_GT != 0 && flags & E_LT != 0 {
        reply::error(
            out,
            b"GT and LT options at the same time are not compatible",
        );
        return;
    }
    let name = if seconds { "expire" } else { "pexpire" };
    let Some(mut when) = string2ll(args.get(2)) else {
        out.extend_from_slice(reply::NOT_INTEGER);
        return;
    };
    if seconds {
        if !(i64::MIN / 1000..=i64::MAX / 1000).contains(&when) {
            return invalid_expire(out, name);
        }
        when *= 1000;
    }
    let now = now(now_ms);
    if when > i64::MAX - now {
        return invalid_expire(out, name);
    }
    when += now;

    let key = args.get(1);
    let current = match store.ttl(key, now_ms) {
        KeyTtl::Missing => return reply::integer(out, 0),
        KeyTtl::Persistent => None,
        KeyTtl::At(at) => Some(at),
    };
    let refused = (flags & E_NX != 0 && current.is_some())
        || (flags & E_XX != 0 && current.is_none())
        || (flags & E_GT != 0 && current.is_none_or(|cur| when <= cur))
        || (flags & E_LT != 0 && current.is_some_and(|cur| when >= cur));
    if refused {
        return reply::integer(out, 0);
    }
    if when <= now {
        store.del([key], now_ms);
    } else {
        store.set_expire(key, when, now_ms);
    }
    reply::integer(out, 1);
}

/// TTL / PTTL key (`ttlGenericCommand`).
pub(super) fn ttl(store: &mut Store, now_ms: u64, args: &Args, millis: bool, out: &mut Vec<u8>) {
    let n = match store.ttl(args.get(1), now_ms) {
        KeyTtl::Missing => -2,
        KeyTtl::Persistent => -1,
        KeyTtl::At(at) => {
            let left = at.saturating_sub(now(now_ms)).max(0);
            if millis {
                left
            } else {
                left.saturating_add(500) / 1000
            }
        }
    };
    reply::integer(out, n);
}

/// How FLUSHALL / FLUSHDB free memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FlushMode {
    Sync,
    Async,
}

/// `getFlushCommandFlags`: no option (SYNC, as `lazyfree-lazy-user-flush no`), SYNC or ASYNC;
/// `None` is a syntax error.
pub(super) fn flush_mode(args: &Args) -> Option<FlushMode> {
    match args.len() {
        1 => Some(FlushMode::Sync),
        2 if is(args.get(1), b"sync") => Some(FlushMode::Sync),
        2 if is(args.get(1), b"async") => Some(FlushMode::Async),
        _ => None,
    }
}

/// `FLUSHALL / FLUSHDB [ASYNC|SYNC]` (one database: the same thing).
pub(super) fn flush(store: &mut Store, args: &Args, out: &mut Vec<u8>) {
    match flush_mode(args) {
        Some(FlushMode::Sync) => store.flush(),
        Some(FlushMode::Async) => store.flush_async(),
        None => {
            out.extend_from_slice(reply::SYNTAX_ERROR);
            return;
        }
    }
    out.extend_from_slice(reply::OK);
}
