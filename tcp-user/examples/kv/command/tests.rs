//! Command tests. The expected replies in `redis_replies.rs` are the bytes redis-server 7.0.15
//! (Debian 12, started with `--databases 1`) answered to the same requests on a fresh
//! connection after FLUSHALL; the tests here add what a live server cannot check
//! deterministically (a fake clock, the memory budget, client ids, routing and merges).

mod redis_replies;

use super::merge::{merge_integer_replies, merge_mget, merge_ok_replies, split_by_shard};
use super::*;
use crate::resp::Args;

const T0: u64 = 1_700_000_000_000;

/// One connection and one store, at a clock the test moves.
pub(super) struct Tester {
    pub session: Session,
    pub store: Store,
    pub now: u64,
}

impl Tester {
    pub fn new() -> Tester {
        Tester::with_memory(0)
    }

    fn with_memory(max_memory: u64) -> Tester {
        let config = ServerConfig {
            max_memory,
            tcp_port: 6379,
            started_ms: T0,
        };
        Tester {
            session: Session::new(7, config),
            store: Store::new(max_memory),
            now: T0,
        }
    }

    fn exec(&mut self, words: &[&[u8]]) -> (Vec<u8>, Outcome) {
        let mut args = Args::new();
        for w in words {
            args.push(w);
        }
        let mut out = Vec::new();
        let outcome = execute(
            &mut self.session,
            &mut self.store,
            self.now,
            &args,
            &mut out,
        );
        (out, outcome)
    }

    /// Runs one request and asserts its reply.
    pub fn check(&mut self, words: &[&[u8]], want: &[u8]) {
        let (got, outcome) = self.exec(words);
        assert_eq!(outcome, Outcome::Continue);
        assert_eq!(
            got.escape_ascii().to_string(),
            want.escape_ascii().to_string(),
            "request {:?}",
            words
                .iter()
                .map(|w| w.escape_ascii().to_string())
                .collect::<Vec<_>>()
        );
    }

    /// Runs a space-separated request and asserts its reply.
    fn line(&mut self, line: &str, want: &[u8]) {
        let words: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        self.check(&words, want);
    }
}

#[test]
fn quit_closes_after_ok() {
    let mut t = Tester::new();
    assert_eq!(t.exec(&[b"QUIT"]), (b"+OK\r\n".to_vec(), Outcome::Close));
    assert_eq!(
        t.exec(&[b"quit", b"x"]),
        (b"+OK\r\n".to_vec(), Outcome::Close)
    );
}

#[test]
fn http_requests_abort_without_reply() {
    let mut t = Tester::new();
    for name in [&b"POST"[..], b"post", b"Host:", b"HOST:", b"post\0x"] {
        assert_eq!(t.exec(&[name, b"/"]), (Vec::new(), Outcome::Abort));
        assert_eq!(classify(&args(&[name])), Class::NoKey);
    }
}

#[test]
fn empty_request_is_silent() {
    let mut t = Tester::new();
    assert_eq!(t.exec(&[]), (Vec::new(), Outcome::Continue));
}

#[test]
fn hello_reports_this_client() {
    // Redis 7.0.15's RESP2 HELLO map, with this session's id (7).
    let map = b"*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n\
        $5\r\nproto\r\n:2\r\n$2\r\nid\r\n:7\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n\
        $4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n";
    let mut t = Tester::new();
    t.line("HELLO", map);
    t.line("HELLO 2", map);
    t.line("HELLO 2 AUTH default secret SETNAME me", map);
    t.line("CLIENT GETNAME", b"$2\r\nme\r\n");
    t.line("CLIENT ID", b":7\r\n");
    // RESP3 is not spoken: Redis's answer to an unsupported version.
    t.line("HELLO 3", b"-NOPROTO unsupported protocol version\r\n");
    t.line(
        "HELLO 3 SETNAME x",
        b"-NOPROTO unsupported protocol version\r\n",
    );
    t.line("CLIENT GETNAME", b"$2\r\nme\r\n");
}

#[test]
fn config_get_reports_the_budget() {
    let mut t = Tester::with_memory(1 << 30);
    t.line(
        "CONFIG GET maxmemory",
        b"*2\r\n$9\r\nmaxmemory\r\n$10\r\n1073741824\r\n",
    );
    t.line(
        "CONFIG GET maxmemory*",
        b"*4\r\n$9\r\nmaxmemory\r\n$10\r\n1073741824\r\n$16\r\nmaxmemory-policy\r\n$10\r\nnoeviction\r\n",
    );
}

#[test]
fn info_server_section() {
    let mut t = Tester::new();
    t.now = T0 + 90_061_000;
    let body = "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\narch_bits:64\r\n\
        tcp_port:6379\r\nuptime_in_seconds:90061\r\nuptime_in_days:1\r\n";
    let want = format!("${}\r\n{body}\r\n", body.len());
    t.line("INFO", want.as_bytes());
    t.line("INFO server", want.as_bytes());
    t.line("info Everything", want.as_bytes());
    t.line("INFO keyspace", b"$0\r\n\r\n");
}

#[test]
fn command_reply_shapes() {
    let mut t = Tester::new();
    t.line("COMMAND COUNT", b":27\r\n");
    let (all, _) = t.exec(&[b"COMMAND"]);
    assert!(all.starts_with(b"*27\r\n*10\r\n$4\r\nping\r\n:-1\r\n"));
    let (info, _) = t.exec(&[b"COMMAND", b"INFO"]);
    assert_eq!(info, all);
    let (docs, _) = t.exec(&[b"COMMAND", b"DOCS"]);
    assert!(docs.starts_with(b"*54\r\n$4\r\nping\r\n*10\r\n$7\r\nsummary\r\n"));
    let (config, _) = t.exec(&[b"COMMAND", b"INFO", b"config"]);
    let (get, help) = (Sub::ConfigGet.spec().info, Sub::ConfigHelp.spec().info);
    let subs: [Vec<u8>; 2] = [
        [b"*2\r\n", get, help].concat(),
        [b"*2\r\n", help, get].concat(),
    ];
    assert!(subs.iter().any(|s| config.ends_with(s)));
    t.line(
        "CONFIG HELP",
        b"*5\r\n+CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n\
          +GET <pattern>\r\n+    Return parameters matching the glob-like <pattern> and their values.\r\n\
          +HELP\r\n+    Prints this help.\r\n",
    );
}

#[test]
fn table_matches_the_dispatcher() {
    for (i, spec) in table::COMMANDS.iter().enumerate() {
        let cmd = lookup(spec.name.as_bytes()).expect(spec.name);
        assert_eq!(cmd as usize, i, "{}", spec.name);
        assert_eq!(lookup(spec.name.to_uppercase().as_bytes()), Some(cmd));
        check_entry(spec);
    }
    for (i, spec) in table::SUBCOMMANDS.iter().enumerate() {
        let (base, sub) = spec.name.split_once('|').expect(spec.name);
        let sub =
            lookup_sub(lookup(base.as_bytes()).expect(base), sub.as_bytes()).expect(spec.name);
        assert_eq!(sub as usize, i, "{}", spec.name);
        check_entry(spec);
    }
}

/// An entry starts `*10`, its name, its arity; its docs are a map.
fn check_entry(spec: &table::Spec) {
    let head = format!(
        "*10\r\n${}\r\n{}\r\n:{}\r\n",
        spec.name.len(),
        spec.name,
        spec.arity
    );
    assert!(spec.info.starts_with(head.as_bytes()), "{}", spec.name);
    assert!(spec.docs.starts_with(b"*"), "{}", spec.name);
}

#[test]
fn expiry_with_a_fake_clock() {
    let mut t = Tester::new();
    t.line("SET k v EX 10", b"+OK\r\n");
    t.line("TTL k", b":10\r\n");
    t.line("PTTL k", b":10000\r\n");
    t.now += 4_400;
    t.line("TTL k", b":6\r\n");
    t.line("PTTL k", b":5600\r\n");
    t.now += 5_600;
    t.line("GET k", b"$1\r\nv\r\n");
    t.line("TTL k", b":0\r\n");
    t.now += 1;
    t.line("GET k", b"$-1\r\n");
    t.line("TTL k", b":-2\r\n");
    t.line("EXISTS k", b":0\r\n");
    t.line("SET p v PX 100", b"+OK\r\n");
    t.line("PERSIST p", b":1\r\n");
    t.now += 1_000;
    t.line("GET p", b"$1\r\nv\r\n");
    t.line("TTL p", b":-1\r\n");
    t.line("EXPIRE missing 10", b":0\r\n");
    t.line("PEXPIRE p 50", b":1\r\n");
    t.now += 51;
    t.line("GET p", b"$-1\r\n");
    t.line("DBSIZE", b":0\r\n");
    // EXAT / PXAT read the same clock as absolute time.
    let at = (t.now + 2_000).to_string();
    t.line(&format!("SET a v PXAT {at}"), b"+OK\r\n");
    t.line("PTTL a", b":2000\r\n");
    t.line(&format!("SET b v EXAT {}", (t.now / 1000) + 5), b"+OK\r\n");
    t.line("TTL b", b":5\r\n");
    t.line("SET c v PXAT 1", b"+OK\r\n");
    t.line("GET c", b"$-1\r\n");
}

#[test]
fn active_expiry_through_commands() {
    let mut t = Tester::new();
    for i in 0..100 {
        t.line(&format!("SET k{i} v PX {}", 10 + i), b"+OK\r\n");
    }
    t.line("DBSIZE", b":100\r\n");
    t.now += 60;
    // Keys 0..50 expired (now > set time + 10 + i); key 50 expires exactly now, still alive.
    assert_eq!(t.store.expire_some(t.now, 1_000), 50);
    t.line("DBSIZE", b":50\r\n");
}

#[test]
fn max_memory_refuses_writes_with_redis_oom() {
    const OOM: &[u8] = b"-OOM command not allowed when used memory > 'maxmemory'.\r\n";
    let mut t = Tester::with_memory(200);
    t.line("SET a 1", b"+OK\r\n");
    t.line("SET b 1", b"+OK\r\n");
    t.line("SET c 1", OOM);
    t.line("SET c 1 GET", OOM);
    t.line("INCR n", OOM);
    t.line("MSET x 1 y 2", OOM);
    t.line("MGET a b c", b"*3\r\n$1\r\n1\r\n$1\r\n1\r\n$-1\r\n");
    // Overwrites that do not grow, reads, deletes and expiries still work.
    t.line("SET a 2", b"+OK\r\n");
    t.line("INCR a", b":3\r\n");
    t.line("EXPIRE a 100", b":1\r\n");
    t.line("DEL b", b":1\r\n");
    t.line("SET c 1", b"+OK\r\n");
    t.line("FLUSHALL", b"+OK\r\n");
    t.line("MSET x 1 y 2", b"+OK\r\n");
    assert!(t.store.used_memory() <= 200);
}

#[test]
fn one_mib_values() {
    let value: Vec<u8> = (0..1u32 << 20).map(|i| (i * 7 % 256) as u8).collect();
    let mut t = Tester::new();
    t.check(&[b"SET", b"big", &value], b"+OK\r\n");
    let mut want = format!("${}\r\n", value.len()).into_bytes();
    want.extend_from_slice(&value);
    want.extend_from_slice(b"\r\n");
    t.check(&[b"GET", b"big"], &want);
    t.check(&[b"ECHO", &value], &want);
}

fn args(words: &[&[u8]]) -> Args {
    let mut a = Args::new();
    for w in words {
        a.push(w);
    }
    a
}

fn line_args(line: &str) -> Args {
    args(&line.split(' ').map(str::as_bytes).collect::<Vec<_>>())
}

#[test]
fn classify_routes_by_key() {
    let multi = |kind, step| Class::Multi {
        kind,
        first: 1,
        step,
    };
    let cases = [
        ("GET k", Class::Single { key: 1 }),
        ("set k v EX 10", Class::Single { key: 1 }),
        ("SET k v BAD", Class::Single { key: 1 }),
        ("INCRBY k 2", Class::Single { key: 1 }),
        ("PERSIST k", Class::Single { key: 1 }),
        ("DEL a b", multi(MultiKind::Del, 1)),
        ("EXISTS a", multi(MultiKind::Exists, 1)),
        ("MGET a b c", multi(MultiKind::Mget, 1)),
        ("MSET a 1 b 2", multi(MultiKind::Mset, 2)),
        ("MSET a 1 b", Class::NoKey),
        (
            "DBSIZE",
            Class::All {
                kind: AllKind::DbSize,
            },
        ),
        (
            "FLUSHALL ASYNC",
            Class::All {
                kind: AllKind::FlushAll,
            },
        ),
        (
            "FLUSHDB",
            Class::All {
                kind: AllKind::FlushDb,
            },
        ),
        ("FLUSHALL bad", Class::NoKey),
        ("GET", Class::NoKey),
        ("GET a b", Class::NoKey),
        ("NOSUCH a", Class::NoKey),
        ("PING", Class::NoKey),
        ("CONFIG GET save", Class::NoKey),
        ("CLIENT SETNAME x", Class::NoKey),
    ];
    for (line, want) in cases {
        assert_eq!(classify(&line_args(line)), want, "{line}");
    }
    assert_eq!(classify(&Args::new()), Class::NoKey);
}

#[test]
fn shard_of_is_fnv1a() {
    // FNV-1a 64 of "" and "a" (published test vectors).
    assert_eq!(
        shard_of(b"", usize::MAX),
        (0xcbf2_9ce4_8422_2325u64 % usize::MAX as u64) as usize
    );
    assert_eq!(
        shard_of(b"a", 1 << 40),
        (0xaf63_dc4c_8601_ec8cu64 % (1 << 40)) as usize
    );
    assert_eq!(shard_of(b"anything", 1), 0);
    assert_eq!(shard_of(b"anything", 0), 0);
    let mut counts = [0usize; 4];
    for i in 0..10_000 {
        counts[shard_of(format!("key:{i:012}").as_bytes(), 4)] += 1;
    }
    assert!(
        counts.iter().all(|&c| (2_000..3_000).contains(&c)),
        "{counts:?}"
    );
}

/// Runs `request` split over `shards` stores as a service would, and unsplit on one store.
fn sharded_vs_single(setup: &[&str], request: &str, shards: usize) -> (Vec<u8>, Vec<u8>) {
    let mut single = Tester::new();
    let mut split: Vec<Tester> = (0..shards).map(|_| Tester::new()).collect();
    for line in setup {
        let a = line_args(line);
        let mut sink = Vec::new();
        execute(&mut single.session, &mut single.store, T0, &a, &mut sink);
        for part in split_by_shard(&a, 1, 2, shards) {
            let t = &mut split[part.shard];
            execute(&mut t.session, &mut t.store, T0, &part.args, &mut sink);
        }
    }
    let a = line_args(request);
    let mut want = Vec::new();
    execute(&mut single.session, &mut single.store, T0, &a, &mut want);
    let mut got = Vec::new();
    match classify(&a) {
        Class::Multi { kind, first, step } => {
            let parts = split_by_shard(&a, first, step, shards);
            let replies: Vec<Vec<u8>> = parts
                .iter()
                .map(|p| {
                    let t = &mut split[p.shard];
                    let mut out = Vec::new();
                    execute(&mut t.session, &mut t.store, T0, &p.args, &mut out);
                    out
                })
                .collect();
            let refs: Vec<&[u8]> = replies.iter().map(Vec::as_slice).collect();
            match kind {
                MultiKind::Del | MultiKind::Exists => merge_integer_replies(&refs, &mut got),
                MultiKind::Mset => merge_ok_replies(&refs, &mut got),
                MultiKind::Mget => {
                    let parts: Vec<(&[usize], &[u8])> = parts
                        .iter()
                        .zip(&refs)
                        .map(|(p, r)| (p.positions.as_slice(), *r))
                        .collect();
                    merge_mget(&parts, (a.len() - first).div_ceil(step), &mut got);
                }
            }
        }
        Class::All { kind } => {
            let replies: Vec<Vec<u8>> = split
                .iter_mut()
                .map(|t| {
                    let mut out = Vec::new();
                    execute(&mut t.session, &mut t.store, T0, &a, &mut out);
                    out
                })
                .collect();
            let refs: Vec<&[u8]> = replies.iter().map(Vec::as_slice).collect();
            match kind {
                AllKind::DbSize => merge_integer_replies(&refs, &mut got),
                AllKind::FlushAll | AllKind::FlushDb => merge_ok_replies(&refs, &mut got),
            }
        }
        other => panic!("{request}: {other:?}"),
    }
    (got, want)
}

#[test]
fn sharded_multi_key_commands_merge_like_redis() {
    let setup = ["MSET k1 v1 k2 v2 k3 v3 k5 v5 k8 v8 k13 v13"];
    for shards in 1..=5 {
        for request in [
            "MGET k1 k2 k3",
            "MGET k3 nope k1 k1 k2 k8 k13 k5 nope2",
            "EXISTS k1 k2 nope k1 k13",
            "DEL k1 nope k1 k13 k2",
            "MSET k1 a k9 b k1 c",
            "DBSIZE",
            "FLUSHALL",
        ] {
            let (got, want) = sharded_vs_single(&setup, request, shards);
            assert_eq!(got, want, "{request} over {shards} shards");
        }
    }
}

#[test]
fn split_by_shard_keeps_order_and_values() {
    let a = line_args("MSET a 1 b 2 c 3 d 4");
    let parts = split_by_shard(&a, 1, 2, 3);
    let mut seen = Vec::new();
    for p in &parts {
        assert_eq!(p.args.get(0), b"MSET");
        assert_eq!(p.args.len(), 1 + 2 * p.positions.len());
        for (j, &pos) in p.positions.iter().enumerate() {
            assert_eq!(shard_of(p.args.get(1 + 2 * j), 3), p.shard);
            assert_eq!(p.args.get(1 + 2 * j), a.get(1 + 2 * pos));
            assert_eq!(p.args.get(2 + 2 * j), a.get(2 + 2 * pos));
            seen.push(pos);
        }
    }
    seen.sort_unstable();
    assert_eq!(seen, [0, 1, 2, 3]);
}

#[test]
fn merges() {
    let mut out = Vec::new();
    merge_integer_replies(&[b":1\r\n", b":0\r\n", b":41\r\n"], &mut out);
    assert_eq!(out, b":42\r\n");
    out.clear();
    merge_ok_replies(&[b"+OK\r\n", b"+OK\r\n"], &mut out);
    assert_eq!(out, b"+OK\r\n");
    out.clear();
    let oom = b"-OOM command not allowed when used memory > 'maxmemory'.\r\n";
    merge_ok_replies(&[b"+OK\r\n", oom], &mut out);
    assert_eq!(out, oom);
    out.clear();
    // MGET k1 k2 k3 with k1, k3 on one shard and k2 on another.
    let a: &[u8] = b"*2\r\n$2\r\nv1\r\n$-1\r\n";
    let b: &[u8] = b"*1\r\n$4\r\nv\r\n2\r\n";
    merge_mget(&[(&[0, 2], a), (&[1], b)], 3, &mut out);
    assert_eq!(out, b"*3\r\n$2\r\nv1\r\n$4\r\nv\r\n2\r\n$-1\r\n");
    out.clear();
    merge_mget(&[(&[0, 2], b)], 3, &mut out);
    assert_eq!(out, b"-ERR internal error merging shard replies\r\n");
    out.clear();
    merge_integer_replies(&[b":1\r\n", b"+OK\r\n"], &mut out);
    assert_eq!(out, b"-ERR internal error merging shard replies\r\n");
}

#[test]
fn random_requests_never_panic() {
    let words: &[&[u8]] = &[
        b"SET",
        b"GET",
        b"DEL",
        b"EXISTS",
        b"INCR",
        b"DECRBY",
        b"MSET",
        b"MGET",
        b"EXPIRE",
        b"PEXPIRE",
        b"TTL",
        b"PERSIST",
        b"DBSIZE",
        b"FLUSHALL",
        b"SELECT",
        b"HELLO",
        b"CLIENT",
        b"CONFIG",
        b"COMMAND",
        b"INFO",
        b"PING",
        b"ECHO",
        b"k",
        b"v",
        b"1",
        b"-1",
        b"0",
        b"9223372036854775807",
        b"EX",
        b"PX",
        b"EXAT",
        b"PXAT",
        b"NX",
        b"XX",
        b"GT",
        b"LT",
        b"GET",
        b"KEEPTTL",
        b"ASYNC",
        b"SETNAME",
        b"GETNAME",
        b"ID",
        b"DOCS",
        b"COUNT",
        b"*",
        b"[",
        b"\\",
        b"\0",
        b"",
        b"2",
        b"3",
        b"AUTH",
        b"default",
        b"a|b",
        b"config|get",
    ];
    let mut state = 99u64;
    let mut t = Tester::with_memory(10_000);
    for _ in 0..50_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let n = (state % 6) as usize;
        let mut s = state;
        let req: Vec<&[u8]> = (0..n)
            .map(|_| {
                s = s.rotate_left(11) ^ 0x9e37_79b9;
                words[(s % words.len() as u64) as usize]
            })
            .collect();
        t.now += state % 3;
        let a = args(&req);
        let _ = classify(&a);
        let mut out = Vec::new();
        execute(&mut t.session, &mut t.store, t.now, &a, &mut out);
        if !req.is_empty() && !matches!(req[0], b"QUIT") {
            assert!(out.ends_with(b"\r\n") || out.is_empty(), "{req:?}");
        }
        t.store.expire_some(t.now, 3);
        assert!(t.store.used_memory() <= 10_000);
    }
}

#[test]
fn extreme_times_do_not_overflow() {
    let mut t = Tester::new();
    t.now = 0;
    t.line("SET k v PXAT 9223372036854775807", b"+OK\r\n");
    t.line("TTL k", b":9223372036854775\r\n");
    t.line("PTTL k", b":9223372036854775807\r\n");
    t.line("EXPIRE k 9223372036854775", b":1\r\n");
    t.now = u64::MAX;
    t.line("GET k", b"$-1\r\n");
    t.line(
        "SET k v EX 1",
        b"-ERR invalid expire time in 'set' command\r\n",
    );
    t.line(
        "EXPIRE k 1",
        b"-ERR invalid expire time in 'expire' command\r\n",
    );
    t.line("SET k v", b"+OK\r\n");
    t.line(
        "PEXPIRE k 1",
        b"-ERR invalid expire time in 'pexpire' command\r\n",
    );
    t.line("TTL k", b":-1\r\n");
}
