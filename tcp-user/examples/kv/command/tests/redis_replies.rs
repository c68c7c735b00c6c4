// Generated from redis-server 7.0.15 replies (see the module documentation).
use super::Tester;

#[test]
fn ping_echo() {
    let mut t = Tester::new();
    t.check(&[b"PING"], b"+PONG\r\n");
    t.check(&[b"PING", b"hello"], b"$5\r\nhello\r\n");
    t.check(
        &[b"PING", b"a", b"b"],
        b"-ERR wrong number of arguments for 'ping' command\r\n",
    );
    t.check(&[b"ECHO", b"x"], b"$1\r\nx\r\n");
    t.check(
        &[b"ECHO"],
        b"-ERR wrong number of arguments for 'echo' command\r\n",
    );
    t.check(
        &[b"ECHO", b"a", b"b"],
        b"-ERR wrong number of arguments for 'echo' command\r\n",
    );
    t.check(&[b"ping"], b"+PONG\r\n");
    t.check(&[b"PiNg", b"x"], b"$1\r\nx\r\n");
}

#[test]
fn select() {
    let mut t = Tester::new();
    t.check(&[b"SELECT", b"0"], b"+OK\r\n");
    t.check(&[b"SELECT", b"1"], b"-ERR DB index is out of range\r\n");
    t.check(&[b"SELECT", b"-1"], b"-ERR DB index is out of range\r\n");
    t.check(
        &[b"SELECT", b"x"],
        b"-ERR value is not an integer or out of range\r\n",
    );
    t.check(
        &[b"SELECT", b"01"],
        b"-ERR value is not an integer or out of range\r\n",
    );
    t.check(
        &[b"SELECT", b"9999999999"],
        b"-ERR value is out of range, value must between -2147483648 and 2147483647\r\n",
    );
    t.check(
        &[b"SELECT", b"99999999999999999999"],
        b"-ERR value is not an integer or out of range\r\n",
    );
    t.check(
        &[b"SELECT"],
        b"-ERR wrong number of arguments for 'select' command\r\n",
    );
    t.check(
        &[b"SELECT", b"0", b"1"],
        b"-ERR wrong number of arguments for 'select' command\r\n",
    );
}

#[test]
fn client_name() {
    let mut t = Tester::new();
    t.check(&[b"CLIENT", b"GETNAME"], b"$-1\r\n");
    t.check(&[b"CLIENT", b"SETNAME", b"a"], b"+OK\r\n");
    t.check(&[b"CLIENT", b"GETNAME"], b"$1\r\na\r\n");
    t.check(&[b"CLIENT", b"SETNAME", b""], b"+OK\r\n");
    t.check(&[b"CLIENT", b"GETNAME"], b"$-1\r\n");
    t.check(
        &[b"CLIENT", b"SETNAME", b"a b"],
        b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
    );
    t.check(
        &[b"CLIENT", b"SETNAME", b"\x7f"],
        b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
    );
    t.check(
        &[b"CLIENT", b"SETNAME", b"\xc3\xa9"],
        b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
    );
    t.check(&[b"CLIENT", b"SETNAME", b"~!"], b"+OK\r\n");
    t.check(&[b"CLIENT", b"GETNAME"], b"$2\r\n~!\r\n");
    t.check(
        &[b"CLIENT"],
        b"-ERR wrong number of arguments for 'client' command\r\n",
    );
    t.check(
        &[b"CLIENT", b"FOO"],
        b"-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n",
    );
    t.check(
        &[b"CLIENT", b"ID", b"x"],
        b"-ERR wrong number of arguments for 'client|id' command\r\n",
    );
    t.check(
        &[b"CLIENT", b"SETNAME"],
        b"-ERR wrong number of arguments for 'client|setname' command\r\n",
    );
    t.check(
        &[b"CLIENT", b"GETNAME", b"x"],
        b"-ERR wrong number of arguments for 'client|getname' command\r\n",
    );
}

#[test]
fn hello_errors() {
    let mut t = Tester::new();
    t.check(
        &[b"HELLO", b"1"],
        b"-NOPROTO unsupported protocol version\r\n",
    );
    t.check(
        &[b"HELLO", b"4"],
        b"-NOPROTO unsupported protocol version\r\n",
    );
    t.check(
        &[b"HELLO", b"foo"],
        b"-ERR Protocol version is not an integer or out of range\r\n",
    );
    t.check(
        &[b"HELLO", b"2.0"],
        b"-ERR Protocol version is not an integer or out of range\r\n",
    );
    t.check(
        &[b"HELLO", b"2", b"FOO"],
        b"-ERR Syntax error in HELLO option 'FOO'\r\n",
    );
    t.check(
        &[b"HELLO", b"2", b"SETNAME"],
        b"-ERR Syntax error in HELLO option 'SETNAME'\r\n",
    );
    t.check(
        &[b"HELLO", b"2", b"AUTH", b"default"],
        b"-ERR Syntax error in HELLO option 'AUTH'\r\n",
    );
    t.check(
        &[b"HELLO", b"2", b"AUTH", b"nobody", b"pw"],
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n",
    );
    t.check(
        &[b"HELLO", b"2", b"SETNAME", b"a b"],
        b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
    );
    t.check(
        &[b"HELLO", b"2", b"x\r\ny\r\n"],
        b"-ERR Syntax error in HELLO option 'x  y  '\r\n",
    );
    t.check(
        &[b"HELLO", b"2", b"a\0b"],
        b"-ERR Syntax error in HELLO option 'a'\r\n",
    );
    t.check(
        &[b"HELLO", b"1", b"FOO"],
        b"-NOPROTO unsupported protocol version\r\n",
    );
}

#[test]
fn config_get() {
    let mut t = Tester::new();
    t.check(
        &[b"CONFIG", b"GET", b"save"],
        b"*2\r\n$4\r\nsave\r\n$0\r\n\r\n",
    );
    t.check(
        &[b"CONFIG", b"GET", b"appendonly"],
        b"*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n",
    );
    t.check(
        &[b"CONFIG", b"GET", b"maxmemory"],
        b"*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n",
    );
    t.check(
        &[b"CONFIG", b"GET", b"SAVE"],
        b"*2\r\n$4\r\nSAVE\r\n$0\r\n\r\n",
    );
    t.check(
        &[b"CONFIG", b"GET", b"databases"],
        b"*2\r\n$9\r\ndatabases\r\n$1\r\n1\r\n",
    );
    t.check(
        &[b"CONFIG", b"GET", b"maxmemory-policy"],
        b"*2\r\n$16\r\nmaxmemory-policy\r\n$10\r\nnoeviction\r\n",
    );
    t.check(
        &[b"CONFIG", b"GET", b"save", b"save"],
        b"*2\r\n$4\r\nsave\r\n$0\r\n\r\n",
    );
    t.check(&[b"CONFIG", b"GET", b"nosuch"], b"*0\r\n");
    t.check(
        &[b"CONFIG", b"GET", b"sav?"],
        b"*2\r\n$4\r\nsave\r\n$0\r\n\r\n",
    );
    t.check(
        &[b"CONFIG", b"GET", b"appendonl[xyz]"],
        b"*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n",
    );
    t.check(&[b"CONFIG", b"GET", b"appendonl[^y]"], b"*0\r\n");
    t.check(
        &[b"CONFIG", b"GET", b"[a-b]ppendonly"],
        b"*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n",
    );
    t.check(
        &[b"CONFIG", b"GET", b"*ppendonly"],
        b"*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n",
    );
    t.check(
        &[b"CONFIG", b"GET", b"data*s"],
        b"*2\r\n$9\r\ndatabases\r\n$1\r\n1\r\n",
    );
    t.check(
        &[b"CONFIG"],
        b"-ERR wrong number of arguments for 'config' command\r\n",
    );
    t.check(
        &[b"CONFIG", b"GET"],
        b"-ERR wrong number of arguments for 'config|get' command\r\n",
    );
    t.check(
        &[b"CONFIG", b"FOO"],
        b"-ERR unknown subcommand 'FOO'. Try CONFIG HELP.\r\n",
    );
}

#[test]
fn unknown_and_arity() {
    let mut t = Tester::new();
    t.check(
        &[b"FOO"],
        b"-ERR unknown command 'FOO', with args beginning with: \r\n",
    );
    t.check(
        &[b"FOO", b"a", b"b"],
        b"-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n",
    );
    t.check(
        &[b"FOO", b"a\r\nb", b"c\nd"],
        b"-ERR unknown command 'FOO', with args beginning with: 'a  b' 'c d' \r\n",
    );
    t.check(
        &[b"FO\0O", b"x\0y"],
        b"-ERR unknown command 'FO', with args beginning with: 'x' \r\n",
    );
    t.check(&[b"FOO", b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", b"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", b"c"], b"-ERR unknown command 'FOO', with args beginning with: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' 'bbbbbbbbbbbbbbbbbbbbbbbbb' \r\n");
    t.check(&[b"FOO", b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", b"bb", b"cc"], b"-ERR unknown command 'FOO', with args beginning with: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' \r\n");
    t.check(&[b"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn", b"x"], b"-ERR unknown command 'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn', with args beginning with: 'x' \r\n");
    t.check(&[b"FOO", b"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"], b"-ERR unknown command 'FOO', with args beginning with: 'zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz' \r\n");
    t.check(
        &[b"SET"],
        b"-ERR wrong number of arguments for 'set' command\r\n",
    );
    t.check(
        &[b"SET", b"a"],
        b"-ERR wrong number of arguments for 'set' command\r\n",
    );
    t.check(
        &[b"GET"],
        b"-ERR wrong number of arguments for 'get' command\r\n",
    );
    t.check(
        &[b"GET", b"a", b"b"],
        b"-ERR wrong number of arguments for 'get' command\r\n",
    );
    t.check(
        &[b"DEL"],
        b"-ERR wrong number of arguments for 'del' command\r\n",
    );
    t.check(
        &[b"EXISTS"],
        b"-ERR wrong number of arguments for 'exists' command\r\n",
    );
    t.check(
        &[b"INCR"],
        b"-ERR wrong number of arguments for 'incr' command\r\n",
    );
    t.check(
        &[b"INCR", b"a", b"b"],
        b"-ERR wrong number of arguments for 'incr' command\r\n",
    );
    t.check(
        &[b"DECR"],
        b"-ERR wrong number of arguments for 'decr' command\r\n",
    );
    t.check(
        &[b"INCRBY", b"a"],
        b"-ERR wrong number of arguments for 'incrby' command\r\n",
    );
    t.check(
        &[b"DECRBY", b"a"],
        b"-ERR wrong number of arguments for 'decrby' command\r\n",
    );
    t.check(
        &[b"MSET"],
        b"-ERR wrong number of arguments for 'mset' command\r\n",
    );
    t.check(
        &[b"MSET", b"a"],
        b"-ERR wrong number of arguments for 'mset' command\r\n",
    );
    t.check(
        &[b"MSET", b"a", b"1", b"b"],
        b"-ERR wrong number of arguments for 'mset' command\r\n",
    );
    t.check(
        &[b"MGET"],
        b"-ERR wrong number of arguments for 'mget' command\r\n",
    );
    t.check(
        &[b"EXPIRE", b"a"],
        b"-ERR wrong number of arguments for 'expire' command\r\n",
    );
    t.check(
        &[b"PEXPIRE", b"a"],
        b"-ERR wrong number of arguments for 'pexpire' command\r\n",
    );
    t.check(
        &[b"TTL"],
        b"-ERR wrong number of arguments for 'ttl' command\r\n",
    );
    t.check(
        &[b"PTTL", b"a", b"b"],
        b"-ERR wrong number of arguments for 'pttl' command\r\n",
    );
    t.check(
        &[b"PERSIST"],
        b"-ERR wrong number of arguments for 'persist' command\r\n",
    );
    t.check(
        &[b"DBSIZE", b"x"],
        b"-ERR wrong number of arguments for 'dbsize' command\r\n",
    );
    t.check(
        &[b"COMMAND", b"FOO"],
        b"-ERR unknown subcommand 'FOO'. Try COMMAND HELP.\r\n",
    );
    t.check(
        &[b"COMMAND", b"COUNT", b"x"],
        b"-ERR wrong number of arguments for 'command|count' command\r\n",
    );
    t.check(
        &[b"CONFIG", b"foo", b"bar"],
        b"-ERR unknown subcommand 'foo'. Try CONFIG HELP.\r\n",
    );
}

#[test]
fn set_get() {
    let mut t = Tester::new();
    t.check(&[b"SET", b"k", b"v"], b"+OK\r\n");
    t.check(&[b"GET", b"k"], b"$1\r\nv\r\n");
    t.check(&[b"GET", b"missing"], b"$-1\r\n");
    t.check(&[b"SET", b"k", b"w"], b"+OK\r\n");
    t.check(&[b"GET", b"k"], b"$1\r\nw\r\n");
    t.check(&[b"SET", b"", b""], b"+OK\r\n");
    t.check(&[b"GET", b""], b"$0\r\n\r\n");
    t.check(&[b"SET", b"bin\0", b"\0\r\n"], b"+OK\r\n");
    t.check(&[b"GET", b"bin\0"], b"$3\r\n\0\r\n\r\n");
}

#[test]
fn set_nx_xx_get() {
    let mut t = Tester::new();
    t.check(&[b"SET", b"nx", b"v1", b"NX"], b"+OK\r\n");
    t.check(&[b"SET", b"nx", b"v2", b"NX"], b"$-1\r\n");
    t.check(&[b"GET", b"nx"], b"$2\r\nv1\r\n");
    t.check(&[b"SET", b"nx", b"v3", b"XX"], b"+OK\r\n");
    t.check(&[b"GET", b"nx"], b"$2\r\nv3\r\n");
    t.check(&[b"SET", b"none", b"v", b"XX"], b"$-1\r\n");
    t.check(&[b"GET", b"none"], b"$-1\r\n");
    t.check(&[b"SET", b"g", b"v1", b"GET"], b"$-1\r\n");
    t.check(&[b"SET", b"g", b"v2", b"GET"], b"$2\r\nv1\r\n");
    t.check(&[b"SET", b"g", b"v3", b"NX", b"GET"], b"$2\r\nv2\r\n");
    t.check(&[b"SET", b"g2", b"v", b"NX", b"GET"], b"$-1\r\n");
    t.check(&[b"GET", b"g2"], b"$1\r\nv\r\n");
    t.check(&[b"SET", b"g", b"v4", b"XX", b"GET"], b"$2\r\nv2\r\n");
    t.check(&[b"SET", b"none", b"v", b"XX", b"GET"], b"$-1\r\n");
    t.check(&[b"GET", b"g"], b"$2\r\nv4\r\n");
    t.check(&[b"SET", b"g", b"v5", b"GET", b"GET"], b"$2\r\nv4\r\n");
    t.check(&[b"SET", b"nx", b"v", b"nx", b"nx"], b"$-1\r\n");
    t.check(&[b"SET", b"nx", b"v", b"xx", b"XX"], b"+OK\r\n");
}

#[test]
fn set_ttl_options() {
    let mut t = Tester::new();
    t.check(&[b"SET", b"ex", b"v", b"EX", b"100"], b"+OK\r\n");
    t.check(&[b"TTL", b"ex"], b":100\r\n");
    t.check(&[b"SET", b"px", b"v", b"PX", b"100000"], b"+OK\r\n");
    t.check(&[b"TTL", b"px"], b":100\r\n");
    t.check(
        &[b"SET", b"ex2", b"v", b"ex", b"1", b"EX", b"100"],
        b"+OK\r\n",
    );
    t.check(&[b"TTL", b"ex2"], b":100\r\n");
    t.check(&[b"SET", b"kt", b"v", b"KEEPTTL"], b"+OK\r\n");
    t.check(&[b"TTL", b"kt"], b":-1\r\n");
    t.check(&[b"SET", b"ex", b"v2", b"KEEPTTL"], b"+OK\r\n");
    t.check(&[b"TTL", b"ex"], b":100\r\n");
    t.check(&[b"SET", b"ex", b"v3"], b"+OK\r\n");
    t.check(&[b"TTL", b"ex"], b":-1\r\n");
    t.check(&[b"SET", b"at", b"v", b"EXAT", b"1"], b"+OK\r\n");
    t.check(&[b"GET", b"at"], b"$-1\r\n");
    t.check(&[b"SET", b"at", b"v", b"PXAT", b"1"], b"+OK\r\n");
    t.check(&[b"EXISTS", b"at"], b":0\r\n");
    t.check(
        &[b"SET", b"at", b"v", b"PXAT", b"9223372036854775807"],
        b"+OK\r\n",
    );
    t.check(&[b"EXISTS", b"at"], b":1\r\n");
    t.check(&[b"SET", b"n", b"v", b"NX\0junk"], b"+OK\r\n");
    t.check(&[b"SET", b"n", b"v", b"EX\0", b"100"], b"+OK\r\n");
    t.check(&[b"TTL", b"n"], b":100\r\n");
}

#[test]
fn set_errors() {
    let mut t = Tester::new();
    t.check(&[b"SET", b"se", b"v", b"FOO"], b"-ERR syntax error\r\n");
    t.check(
        &[b"SET", b"se", b"v", b"NX", b"XX"],
        b"-ERR syntax error\r\n",
    );
    t.check(
        &[b"SET", b"se", b"v", b"XX", b"NX"],
        b"-ERR syntax error\r\n",
    );
    t.check(&[b"SET", b"se", b"v", b"EX"], b"-ERR syntax error\r\n");
    t.check(&[b"SET", b"se", b"v", b"PX"], b"-ERR syntax error\r\n");
    t.check(
        &[b"SET", b"se", b"v", b"EX", b"1", b"PX", b"1"],
        b"-ERR syntax error\r\n",
    );
    t.check(
        &[b"SET", b"se", b"v", b"PX", b"1", b"EXAT", b"1"],
        b"-ERR syntax error\r\n",
    );
    t.check(
        &[b"SET", b"se", b"v", b"EXAT", b"1", b"PXAT", b"1"],
        b"-ERR syntax error\r\n",
    );
    t.check(
        &[b"SET", b"se", b"v", b"KEEPTTL", b"EX", b"1"],
        b"-ERR syntax error\r\n",
    );
    t.check(
        &[b"SET", b"se", b"v", b"EX", b"1", b"KEEPTTL"],
        b"-ERR syntax error\r\n",
    );
    t.check(&[b"SET", b"se", b"v", b"PERSIST"], b"-ERR syntax error\r\n");
    t.check(
        &[b"SET", b"se", b"v", b"EX", b"0"],
        b"-ERR invalid expire time in 'set' command\r\n",
    );
    t.check(
        &[b"SET", b"se", b"v", b"EX", b"-1"],
        b"-ERR invalid expire time in 'set' command\r\n",
    );
    t.check(
        &[b"SET", b"se", b"v", b"PX", b"0"],
        b"-ERR invalid expire time in 'set' command\r\n",
    );
    t.check(
        &[b"SET", b"se", b"v", b"EXAT", b"0"],
        b"-ERR invalid expire time in 'set' command\r\n",
    );
    t.check(
        &[b"SET", b"se", b"v", b"PXAT", b"-5"],
        b"-ERR invalid expire time in 'set' command\r\n",
    );
    t.check(
        &[b"SET", b"se", b"v", b"EX", b"x"],
        b"-ERR value is not an integer or out of range\r\n",
    );
    t.check(
        &[b"SET", b"se", b"v", b"EX", b"1.5"],
        b"-ERR value is not an integer or out of range\r\n",
    );
    t.check(
        &[b"SET", b"se", b"v", b"EX", b"01"],
        b"-ERR value is not an integer or out of range\r\n",
    );
    t.check(
        &[b"SET", b"se", b"v", b"PX", b"99999999999999999999"],
        b"-ERR value is not an integer or out of range\r\n",
    );
    t.check(
        &[b"SET", b"se", b"v", b"EX", b"9223372036854775"],
        b"-ERR invalid expire time in 'set' command\r\n",
    );
    t.check(
        &[b"SET", b"se", b"v", b"EX", b"9223372036854776"],
        b"-ERR invalid expire time in 'set' command\r\n",
    );
    t.check(
        &[b"SET", b"se", b"v", b"PX", b"9223372036854775807"],
        b"-ERR invalid expire time in 'set' command\r\n",
    );
    t.check(
        &[b"SET", b"se", b"v", b"EXAT", b"9223372036854776"],
        b"-ERR invalid expire time in 'set' command\r\n",
    );
    t.check(&[b"EXISTS", b"se"], b":0\r\n");
}

#[test]
fn counters() {
    let mut t = Tester::new();
    t.check(&[b"INCR", b"c"], b":1\r\n");
    t.check(&[b"INCR", b"c"], b":2\r\n");
    t.check(&[b"DECR", b"c"], b":1\r\n");
    t.check(&[b"INCRBY", b"c", b"10"], b":11\r\n");
    t.check(&[b"DECRBY", b"c", b"3"], b":8\r\n");
    t.check(&[b"GET", b"c"], b"$1\r\n8\r\n");
    t.check(&[b"DECR", b"n"], b":-1\r\n");
    t.check(&[b"DECRBY", b"n", b"5"], b":-6\r\n");
    t.check(&[b"INCRBY", b"n", b"-4"], b":-10\r\n");
    t.check(&[b"GET", b"n"], b"$3\r\n-10\r\n");
    t.check(
        &[b"INCRBY", b"c", b"-0"],
        b"-ERR value is not an integer or out of range\r\n",
    );
    t.check(
        &[b"INCRBY", b"c", b"x"],
        b"-ERR value is not an integer or out of range\r\n",
    );
    t.check(
        &[b"DECRBY", b"c", b"+1"],
        b"-ERR value is not an integer or out of range\r\n",
    );
    t.check(&[b"SET", b"s", b"abc"], b"+OK\r\n");
    t.check(
        &[b"INCR", b"s"],
        b"-ERR value is not an integer or out of range\r\n",
    );
    t.check(&[b"SET", b"s", b"01"], b"+OK\r\n");
    t.check(
        &[b"INCR", b"s"],
        b"-ERR value is not an integer or out of range\r\n",
    );
    t.check(&[b"SET", b"s", b"-0"], b"+OK\r\n");
    t.check(
        &[b"INCR", b"s"],
        b"-ERR value is not an integer or out of range\r\n",
    );
    t.check(&[b"SET", b"s", b"1.5"], b"+OK\r\n");
    t.check(
        &[b"INCR", b"s"],
        b"-ERR value is not an integer or out of range\r\n",
    );
    t.check(&[b"SET", b"s", b" 1"], b"+OK\r\n");
    t.check(
        &[b"INCR", b"s"],
        b"-ERR value is not an integer or out of range\r\n",
    );
    t.check(&[b"SET", b"s", b""], b"+OK\r\n");
    t.check(
        &[b"DECR", b"s"],
        b"-ERR value is not an integer or out of range\r\n",
    );
    t.check(&[b"SET", b"o", b"9223372036854775807"], b"+OK\r\n");
    t.check(
        &[b"INCR", b"o"],
        b"-ERR increment or decrement would overflow\r\n",
    );
    t.check(&[b"INCRBY", b"o", b"-1"], b":9223372036854775806\r\n");
    t.check(&[b"SET", b"o", b"-9223372036854775808"], b"+OK\r\n");
    t.check(
        &[b"DECR", b"o"],
        b"-ERR increment or decrement would overflow\r\n",
    );
    t.check(
        &[b"DECRBY", b"o2", b"-9223372036854775808"],
        b"-ERR decrement would overflow\r\n",
    );
    t.check(
        &[b"INCRBY", b"o2", b"-9223372036854775808"],
        b":-9223372036854775808\r\n",
    );
    t.check(
        &[b"DECR", b"o2"],
        b"-ERR increment or decrement would overflow\r\n",
    );
    t.check(&[b"SET", b"t", b"5", b"EX", b"100"], b"+OK\r\n");
    t.check(&[b"INCR", b"t"], b":6\r\n");
    t.check(&[b"TTL", b"t"], b":100\r\n");
    t.check(&[b"GET", b"t"], b"$1\r\n6\r\n");
}

#[test]
fn mset_mget_del_exists() {
    let mut t = Tester::new();
    t.check(&[b"MSET", b"a", b"1", b"b", b"2", b"c", b"3"], b"+OK\r\n");
    t.check(
        &[b"MGET", b"a", b"b", b"c", b"x"],
        b"*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$-1\r\n",
    );
    t.check(&[b"MGET", b"x"], b"*1\r\n$-1\r\n");
    t.check(&[b"MSET", b"a", b"x", b"a", b"y"], b"+OK\r\n");
    t.check(
        &[b"MGET", b"a", b"a", b"b"],
        b"*3\r\n$1\r\ny\r\n$1\r\ny\r\n$1\r\n2\r\n",
    );
    t.check(
        &[b"MSET", b"c", b"v", b"b"],
        b"-ERR wrong number of arguments for 'mset' command\r\n",
    );
    t.check(&[b"SET", b"t", b"1", b"EX", b"100"], b"+OK\r\n");
    t.check(&[b"MSET", b"t", b"2"], b"+OK\r\n");
    t.check(&[b"TTL", b"t"], b":-1\r\n");
    t.check(&[b"EXISTS", b"a", b"b", b"c", b"x"], b":3\r\n");
    t.check(&[b"EXISTS", b"a", b"a", b"a"], b":3\r\n");
    t.check(&[b"DEL", b"a", b"a"], b":1\r\n");
    t.check(&[b"DEL", b"b", b"x", b"c"], b":2\r\n");
    t.check(&[b"DEL", b"b"], b":0\r\n");
    t.check(&[b"EXISTS", b"a", b"b", b"c"], b":0\r\n");
}

#[test]
fn expire_family() {
    let mut t = Tester::new();
    t.check(&[b"SET", b"e", b"v"], b"+OK\r\n");
    t.check(&[b"EXPIRE", b"e", b"100"], b":1\r\n");
    t.check(&[b"TTL", b"e"], b":100\r\n");
    t.check(&[b"PEXPIRE", b"e", b"200000"], b":1\r\n");
    t.check(&[b"TTL", b"e"], b":200\r\n");
    t.check(&[b"EXPIRE", b"x", b"100"], b":0\r\n");
    t.check(&[b"PEXPIRE", b"x", b"100"], b":0\r\n");
    t.check(&[b"TTL", b"x"], b":-2\r\n");
    t.check(&[b"PTTL", b"x"], b":-2\r\n");
    t.check(&[b"SET", b"p", b"v"], b"+OK\r\n");
    t.check(&[b"PTTL", b"p"], b":-1\r\n");
    t.check(&[b"TTL", b"p"], b":-1\r\n");
    t.check(&[b"PERSIST", b"p"], b":0\r\n");
    t.check(&[b"EXPIRE", b"p", b"100"], b":1\r\n");
    t.check(&[b"PERSIST", b"p"], b":1\r\n");
    t.check(&[b"PERSIST", b"p"], b":0\r\n");
    t.check(&[b"TTL", b"p"], b":-1\r\n");
    t.check(&[b"PERSIST", b"x"], b":0\r\n");
    t.check(&[b"SET", b"n", b"v"], b"+OK\r\n");
    t.check(&[b"EXPIRE", b"n", b"100", b"XX"], b":0\r\n");
    t.check(&[b"EXPIRE", b"n", b"100", b"NX"], b":1\r\n");
    t.check(&[b"EXPIRE", b"n", b"200", b"NX"], b":0\r\n");
    t.check(&[b"TTL", b"n"], b":100\r\n");
    t.check(&[b"EXPIRE", b"n", b"300", b"XX"], b":1\r\n");
    t.check(&[b"TTL", b"n"], b":300\r\n");
    t.check(&[b"EXPIRE", b"x", b"100", b"NX"], b":0\r\n");
    t.check(&[b"SET", b"g", b"v"], b"+OK\r\n");
    t.check(&[b"EXPIRE", b"g", b"100", b"GT"], b":0\r\n");
    t.check(&[b"EXPIRE", b"g", b"100", b"LT"], b":1\r\n");
    t.check(&[b"TTL", b"g"], b":100\r\n");
    t.check(&[b"EXPIRE", b"g", b"200", b"GT"], b":1\r\n");
    t.check(&[b"TTL", b"g"], b":200\r\n");
    t.check(&[b"EXPIRE", b"g", b"300", b"LT"], b":0\r\n");
    t.check(&[b"EXPIRE", b"g", b"50", b"LT"], b":1\r\n");
    t.check(&[b"TTL", b"g"], b":50\r\n");
    t.check(&[b"EXPIRE", b"g", b"40", b"GT"], b":0\r\n");
    t.check(&[b"EXPIRE", b"g", b"60", b"gt", b"xx"], b":1\r\n");
    t.check(&[b"TTL", b"g"], b":60\r\n");
    t.check(&[b"PEXPIRE", b"g", b"1000", b"LT"], b":1\r\n");
    t.check(&[b"TTL", b"g"], b":1\r\n");
    t.check(&[b"SET", b"d", b"v"], b"+OK\r\n");
    t.check(&[b"EXPIRE", b"d", b"-1"], b":1\r\n");
    t.check(&[b"GET", b"d"], b"$-1\r\n");
    t.check(&[b"SET", b"d", b"v"], b"+OK\r\n");
    t.check(&[b"EXPIRE", b"d", b"0"], b":1\r\n");
    t.check(&[b"EXISTS", b"d"], b":0\r\n");
    t.check(&[b"SET", b"d", b"v"], b"+OK\r\n");
    t.check(&[b"PEXPIRE", b"d", b"-100"], b":1\r\n");
    t.check(&[b"TTL", b"d"], b":-2\r\n");
}

#[test]
fn expire_errors() {
    let mut t = Tester::new();
    t.check(
        &[b"EXPIRE", b"e", b"1", b"FOO"],
        b"-ERR Unsupported option FOO\r\n",
    );
    t.check(
        &[b"EXPIRE", b"e", b"1", b"NX", b"XX"],
        b"-ERR NX and XX, GT or LT options at the same time are not compatible\r\n",
    );
    t.check(
        &[b"EXPIRE", b"e", b"1", b"GT", b"LT"],
        b"-ERR GT and LT options at the same time are not compatible\r\n",
    );
    t.check(
        &[b"EXPIRE", b"e", b"1", b"NX", b"GT"],
        b"-ERR NX and XX, GT or LT options at the same time are not compatible\r\n",
    );
    t.check(
        &[b"EXPIRE", b"e", b"1", b"LT", b"NX"],
        b"-ERR NX and XX, GT or LT options at the same time are not compatible\r\n",
    );
    t.check(
        &[b"EXPIRE", b"e", b"x", b"FOO"],
        b"-ERR Unsupported option FOO\r\n",
    );
    t.check(
        &[b"PEXPIRE", b"e", b"1", b"nx", b"xx", b"gt"],
        b"-ERR NX and XX, GT or LT options at the same time are not compatible\r\n",
    );
    t.check(
        &[b"EXPIRE", b"e", b"1", b"FOO\r"],
        b"-ERR Unsupported option FOO\r\n",
    );
    t.check(
        &[b"EXPIRE", b"e", b"1", b"\nFOO"],
        b"-ERR Unsupported option  FOO\r\n",
    );
    t.check(
        &[b"EXPIRE", b"e", b"1", b"a\0b"],
        b"-ERR Unsupported option a\r\n",
    );
    t.check(
        &[b"EXPIRE", b"e", b"1", b"a\r\nb"],
        b"-ERR Unsupported option a  b\r\n",
    );
    t.check(&[b"EXPIRE", b"e", b"1", b"NX\0"], b":0\r\n");
    t.check(&[b"SET", b"v", b"v"], b"+OK\r\n");
    t.check(
        &[b"EXPIRE", b"v", b"x"],
        b"-ERR value is not an integer or out of range\r\n",
    );
    t.check(
        &[b"EXPIRE", b"v", b"1.5"],
        b"-ERR value is not an integer or out of range\r\n",
    );
    t.check(
        &[b"EXPIRE", b"v", b"9223372036854776"],
        b"-ERR invalid expire time in 'expire' command\r\n",
    );
    t.check(
        &[b"EXPIRE", b"v", b"-9223372036854776"],
        b"-ERR invalid expire time in 'expire' command\r\n",
    );
    t.check(
        &[b"EXPIRE", b"v", b"9223372036854775"],
        b"-ERR invalid expire time in 'expire' command\r\n",
    );
    t.check(
        &[b"PEXPIRE", b"v", b"9223372036854775807"],
        b"-ERR invalid expire time in 'pexpire' command\r\n",
    );
    t.check(
        &[b"EXPIRE", b"x", b"9223372036854775"],
        b"-ERR invalid expire time in 'expire' command\r\n",
    );
    t.check(&[b"TTL", b"v"], b":-1\r\n");
}

#[test]
fn dbsize_flush() {
    let mut t = Tester::new();
    t.check(&[b"DBSIZE"], b":0\r\n");
    t.check(&[b"MSET", b"a", b"1", b"b", b"2", b"c", b"3"], b"+OK\r\n");
    t.check(&[b"DBSIZE"], b":3\r\n");
    t.check(&[b"FLUSHALL"], b"+OK\r\n");
    t.check(&[b"DBSIZE"], b":0\r\n");
    t.check(&[b"MSET", b"a", b"1", b"b", b"2"], b"+OK\r\n");
    t.check(&[b"FLUSHALL", b"ASYNC"], b"+OK\r\n");
    t.check(&[b"DBSIZE"], b":0\r\n");
    t.check(&[b"SET", b"a", b"1"], b"+OK\r\n");
    t.check(&[b"FLUSHALL", b"sync"], b"+OK\r\n");
    t.check(&[b"DBSIZE"], b":0\r\n");
    t.check(&[b"SET", b"a", b"1"], b"+OK\r\n");
    t.check(&[b"FLUSHDB"], b"+OK\r\n");
    t.check(&[b"DBSIZE"], b":0\r\n");
    t.check(&[b"SET", b"a", b"1"], b"+OK\r\n");
    t.check(&[b"FLUSHDB", b"async"], b"+OK\r\n");
    t.check(&[b"GET", b"a"], b"$-1\r\n");
    t.check(&[b"FLUSHDB", b"SYNC"], b"+OK\r\n");
    t.check(&[b"SET", b"a", b"1"], b"+OK\r\n");
    t.check(&[b"FLUSHALL", b"x"], b"-ERR syntax error\r\n");
    t.check(&[b"FLUSHALL", b"sync", b"x"], b"-ERR syntax error\r\n");
    t.check(&[b"FLUSHDB", b"x"], b"-ERR syntax error\r\n");
    t.check(&[b"DBSIZE"], b":1\r\n");
}

#[test]
fn info_command() {
    let mut t = Tester::new();
    t.check(&[b"INFO", b"nosuch"], b"$0\r\n\r\n");
    t.check(&[b"COMMAND", b"INFO", b"get", b"nosuch"], b"*2\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n$-1\r\n");
    t.check(
        &[b"COMMAND", b"INFO", b"config|nosuch", b"get|x", b"a|b|c"],
        b"*3\r\n$-1\r\n$-1\r\n$-1\r\n",
    );
    t.check(&[b"COMMAND", b"DOCS", b"nosuch"], b"*0\r\n");
    t.check(&[b"COMMAND", b"DOCS", b"get"], b"*2\r\n$3\r\nget\r\n*10\r\n$7\r\nsummary\r\n$22\r\nGet the value of a key\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n*6\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n");
    t.check(&[b"COMMAND", b"INFO", b"CONFIG|GET"], b"*1\r\n*10\r\n$10\r\nconfig|get\r\n:-3\r\n*4\r\n+admin\r\n+noscript\r\n+loading\r\n+stale\r\n:0\r\n:0\r\n:0\r\n*3\r\n+@admin\r\n+@slow\r\n+@dangerous\r\n*0\r\n*0\r\n*0\r\n");
}
