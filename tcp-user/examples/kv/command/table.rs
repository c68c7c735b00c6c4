//! Command metadata captured from redis-server 7.0.15: each [`Spec`] holds the exact RESP2 bytes
//! that Redis answers to `COMMAND INFO <name>` (one entry) and to `COMMAND DOCS <name>` (the doc
//! map, after the name), so COMMAND, COMMAND INFO and COMMAND DOCS answer byte for byte like
//! Redis for the commands this engine implements. Container commands (COMMAND, CONFIG, CLIENT) list
//! only the subcommands implemented here.
//!
//! Generated, do not edit by hand: a small script asked a live `redis-server --databases 1`
//! `COMMAND INFO` / `COMMAND DOCS` for each name below, dropped the subcommands this engine does
//! not implement and printed the re-serialized replies (RESP2 is canonical, so re-serializing
//! keeps the bytes).

/// Metadata of one command or subcommand.
pub struct Spec {
    /// Full lower-case name as Redis prints it (`get`, `config|get`).
    pub name: &'static str,
    /// Redis arity: `n > 0` exactly n arguments (name included), `-n` at least n.
    pub arity: i32,
    /// The command's entry in a `COMMAND` / `COMMAND INFO` reply.
    pub info: &'static [u8],
    /// The command's doc map in a `COMMAND DOCS` reply (follows the bulk name).
    pub docs: &'static [u8],
}
/// Top-level commands, in the order of [`super::Cmd`].
pub const COMMANDS: [Spec; 27] = [
    Spec {
        name: "ping",
        arity: -1,
        info: b"*10\r\n$4\r\nping\r\n:-1\r\n*1\r\n+fast\r\n:0\r\n:0\r\n:0\r\n\
        *2\r\n+@fast\r\n+@connection\r\n*2\r\n$25\r\nrequest_policy:all_shards\r\n\
        $29\r\nresponse_policy:all_succeeded\r\n*0\r\n*0\r\n",
        docs: b"*10\r\n$7\r\nsummary\r\n$15\r\nPing the server\r\n$5\r\nsince\r\n\
        $5\r\n1.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\ncomplexity\r\n\
        $4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n*6\r\n$4\r\nname\r\n$7\r\n\
        message\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n*1\r\n\
        +optional\r\n",
    },
    Spec {
        name: "echo",
        arity: 2,
        info: b"*10\r\n$4\r\necho\r\n:2\r\n*3\r\n+loading\r\n+stale\r\n+fast\r\n\
        :0\r\n:0\r\n:0\r\n*2\r\n+@fast\r\n+@connection\r\n*0\r\n*0\r\n\
        *0\r\n",
        docs: b"*10\r\n$7\r\nsummary\r\n$21\r\nEcho the given string\r\n$5\r\n\
        since\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\n\
        complexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n*4\r\n$4\r\n\
        name\r\n$7\r\nmessage\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    },
    Spec {
        name: "set",
        arity: -3,
        info: b"*10\r\n$3\r\nset\r\n:-3\r\n*2\r\n+write\r\n+denyoom\r\n:1\r\n\
        :1\r\n:1\r\n*3\r\n+@write\r\n+@string\r\n+@slow\r\n*0\r\n*1\r\n\
        *8\r\n$5\r\nnotes\r\n$48\r\nRW and ACCESS due to the optional `GET` argument\r\n\
        $5\r\nflags\r\n*4\r\n+RW\r\n+access\r\n+update\r\n+variable_flags\r\n\
        $12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\n\
        spec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\n\
        type\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n\
        $7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n",
        docs: b"*12\r\n$7\r\nsummary\r\n$29\r\nSet the string value of a key\r\n\
        $5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n\
        $10\r\ncomplexity\r\n$4\r\nO(1)\r\n$7\r\nhistory\r\n*4\r\n*2\r\n\
        $6\r\n2.6.12\r\n$44\r\nAdded the `EX`, `PX`, `NX` and `XX` options.\r\n\
        *2\r\n$5\r\n6.0.0\r\n$27\r\nAdded the `KEEPTTL` option.\r\n*2\r\n\
        $5\r\n6.2.0\r\n$42\r\nAdded the `GET`, `EXAT` and `PXAT` option.\r\n\
        *2\r\n$5\r\n7.0.0\r\n$55\r\nAllowed the `NX` and `GET` options to be used together.\r\n\
        $9\r\narguments\r\n*5\r\n*6\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\n\
        type\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n*4\r\n$4\r\n\
        name\r\n$5\r\nvalue\r\n$4\r\ntype\r\n$6\r\nstring\r\n*10\r\n$4\r\n\
        name\r\n$9\r\ncondition\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\n\
        since\r\n$6\r\n2.6.12\r\n$5\r\nflags\r\n*1\r\n+optional\r\n$9\r\n\
        arguments\r\n*2\r\n*6\r\n$4\r\nname\r\n$2\r\nnx\r\n$4\r\ntype\r\n\
        $10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nNX\r\n*6\r\n$4\r\nname\r\n\
        $2\r\nxx\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n\
        $2\r\nXX\r\n*10\r\n$4\r\nname\r\n$3\r\nget\r\n$4\r\ntype\r\n$10\r\n\
        pure-token\r\n$5\r\ntoken\r\n$3\r\nGET\r\n$5\r\nsince\r\n$5\r\n\
        6.2.0\r\n$5\r\nflags\r\n*1\r\n+optional\r\n*8\r\n$4\r\nname\r\n\
        $10\r\nexpiration\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nflags\r\n\
        *1\r\n+optional\r\n$9\r\narguments\r\n*5\r\n*8\r\n$4\r\nname\r\n\
        $7\r\nseconds\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n\
        $2\r\nEX\r\n$5\r\nsince\r\n$6\r\n2.6.12\r\n*8\r\n$4\r\nname\r\n\
        $12\r\nmilliseconds\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n\
        $2\r\nPX\r\n$5\r\nsince\r\n$6\r\n2.6.12\r\n*8\r\n$4\r\nname\r\n\
        $17\r\nunix-time-seconds\r\n$4\r\ntype\r\n$9\r\nunix-time\r\n\
        $5\r\ntoken\r\n$4\r\nEXAT\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n*8\r\n\
        $4\r\nname\r\n$22\r\nunix-time-milliseconds\r\n$4\r\ntype\r\n\
        $9\r\nunix-time\r\n$5\r\ntoken\r\n$4\r\nPXAT\r\n$5\r\nsince\r\n\
        $5\r\n6.2.0\r\n*8\r\n$4\r\nname\r\n$7\r\nkeepttl\r\n$4\r\ntype\r\n\
        $10\r\npure-token\r\n$5\r\ntoken\r\n$7\r\nKEEPTTL\r\n$5\r\nsince\r\n\
        $5\r\n6.0.0\r\n",
    },
    Spec {
        name: "get",
        arity: 2,
        info: b"*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n\
        :1\r\n*3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n*1\r\n*6\r\n\
        $5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n\
        *4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\n\
        index\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n\
        $4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n\
        $5\r\nlimit\r\n:0\r\n*0\r\n",
        docs: b"*10\r\n$7\r\nsummary\r\n$22\r\nGet the value of a key\r\n$5\r\n\
        since\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\n\
        complexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n*6\r\n$4\r\n\
        name\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n\
        :0\r\n",
    },
    Spec {
        name: "del",
        arity: -2,
        info: b"*10\r\n$3\r\ndel\r\n:-2\r\n*1\r\n+write\r\n:1\r\n:-1\r\n:1\r\n\
        *3\r\n+@keyspace\r\n+@write\r\n+@slow\r\n*2\r\n$26\r\nrequest_policy:multi_shard\r\n\
        $23\r\nresponse_policy:agg_sum\r\n*1\r\n*6\r\n$5\r\nflags\r\n\
        *2\r\n+RM\r\n+delete\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n\
        $5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\n\
        find_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n\
        *6\r\n$7\r\nlastkey\r\n:-1\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n\
        :0\r\n*0\r\n",
        docs: b"*10\r\n$7\r\nsummary\r\n$12\r\nDelete a key\r\n$5\r\nsince\r\n\
        $5\r\n1.0.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n$10\r\ncomplexity\r\n\
        $288\r\nO(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1).\r\n\
        $9\r\narguments\r\n*1\r\n*8\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\n\
        type\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$5\r\nflags\r\n\
        *1\r\n+multiple\r\n",
    },
    Spec {
        name: "exists",
        arity: -2,
        info: b"*10\r\n$6\r\nexists\r\n:-2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n\
        :-1\r\n:1\r\n*3\r\n+@keyspace\r\n+@read\r\n+@fast\r\n*2\r\n$26\r\n\
        request_policy:multi_shard\r\n$23\r\nresponse_policy:agg_sum\r\n\
        *1\r\n*6\r\n$5\r\nflags\r\n*1\r\n+RO\r\n$12\r\nbegin_search\r\n\
        *4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\n\
        index\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n\
        $4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:-1\r\n$7\r\nkeystep\r\n\
        :1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n",
        docs: b"*12\r\n$7\r\nsummary\r\n$25\r\nDetermine if a key exists\r\n$5\r\n\
        since\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n$10\r\n\
        complexity\r\n$44\r\nO(N) where N is the number of keys to check.\r\n\
        $7\r\nhistory\r\n*1\r\n*2\r\n$5\r\n3.0.3\r\n$33\r\nAccepts multiple `key` arguments.\r\n\
        $9\r\narguments\r\n*1\r\n*8\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\n\
        type\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$5\r\nflags\r\n\
        *1\r\n+multiple\r\n",
    },
    Spec {
        name: "incr",
        arity: 2,
        info: b"*10\r\n$4\r\nincr\r\n:2\r\n*3\r\n+write\r\n+denyoom\r\n+fast\r\n\
        :1\r\n:1\r\n:1\r\n*3\r\n+@write\r\n+@string\r\n+@fast\r\n*0\r\n\
        *1\r\n*6\r\n$5\r\nflags\r\n*3\r\n+RW\r\n+access\r\n+update\r\n\
        $12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\n\
        spec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\n\
        type\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n\
        $7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n",
        docs: b"*10\r\n$7\r\nsummary\r\n$43\r\nIncrement the integer value of a key by one\r\n\
        $5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n\
        $10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n*6\r\n\
        $4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\n\
        key_spec_index\r\n:0\r\n",
    },
    Spec {
        name: "decr",
        arity: 2,
        info: b"*10\r\n$4\r\ndecr\r\n:2\r\n*3\r\n+write\r\n+denyoom\r\n+fast\r\n\
        :1\r\n:1\r\n:1\r\n*3\r\n+@write\r\n+@string\r\n+@fast\r\n*0\r\n\
        *1\r\n*6\r\n$5\r\nflags\r\n*3\r\n+RW\r\n+access\r\n+update\r\n\
        $12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\n\
        spec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\n\
        type\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n\
        $7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n",
        docs: b"*10\r\n$7\r\nsummary\r\n$43\r\nDecrement the integer value of a key by one\r\n\
        $5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n\
        $10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n*6\r\n\
        $4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\n\
        key_spec_index\r\n:0\r\n",
    },
    Spec {
        name: "incrby",
        arity: 3,
        info: b"*10\r\n$6\r\nincrby\r\n:3\r\n*3\r\n+write\r\n+denyoom\r\n+fast\r\n\
        :1\r\n:1\r\n:1\r\n*3\r\n+@write\r\n+@string\r\n+@fast\r\n*0\r\n\
        *1\r\n*6\r\n$5\r\nflags\r\n*3\r\n+RW\r\n+access\r\n+update\r\n\
        $12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\n\
        spec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\n\
        type\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n\
        $7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n",
        docs: b"*10\r\n$7\r\nsummary\r\n$56\r\nIncrement the integer value of a key by the given amount\r\n\
        $5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n\
        $10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*2\r\n*6\r\n\
        $4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\n\
        key_spec_index\r\n:0\r\n*4\r\n$4\r\nname\r\n$9\r\nincrement\r\n\
        $4\r\ntype\r\n$7\r\ninteger\r\n",
    },
    Spec {
        name: "decrby",
        arity: 3,
        info: b"*10\r\n$6\r\ndecrby\r\n:3\r\n*3\r\n+write\r\n+denyoom\r\n+fast\r\n\
        :1\r\n:1\r\n:1\r\n*3\r\n+@write\r\n+@string\r\n+@fast\r\n*0\r\n\
        *1\r\n*6\r\n$5\r\nflags\r\n*3\r\n+RW\r\n+access\r\n+update\r\n\
        $12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\n\
        spec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\n\
        type\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n\
        $7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n",
        docs: b"*10\r\n$7\r\nsummary\r\n$56\r\nDecrement the integer value of a key by the given number\r\n\
        $5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n\
        $10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*2\r\n*6\r\n\
        $4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\n\
        key_spec_index\r\n:0\r\n*4\r\n$4\r\nname\r\n$9\r\ndecrement\r\n\
        $4\r\ntype\r\n$7\r\ninteger\r\n",
    },
    Spec {
        name: "mset",
        arity: -3,
        info: b"*10\r\n$4\r\nmset\r\n:-3\r\n*2\r\n+write\r\n+denyoom\r\n:1\r\n\
        :-1\r\n:2\r\n*3\r\n+@write\r\n+@string\r\n+@slow\r\n*2\r\n$26\r\n\
        request_policy:multi_shard\r\n$29\r\nresponse_policy:all_succeeded\r\n\
        *1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+OW\r\n+update\r\n$12\r\nbegin_search\r\n\
        *4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\n\
        index\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n\
        $4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:-1\r\n$7\r\nkeystep\r\n\
        :2\r\n$5\r\nlimit\r\n:0\r\n*0\r\n",
        docs: b"*10\r\n$7\r\nsummary\r\n$36\r\nSet multiple keys to multiple values\r\n\
        $5\r\nsince\r\n$5\r\n1.0.1\r\n$5\r\ngroup\r\n$6\r\nstring\r\n\
        $10\r\ncomplexity\r\n$42\r\nO(N) where N is the number of keys to set.\r\n\
        $9\r\narguments\r\n*1\r\n*8\r\n$4\r\nname\r\n$9\r\nkey_value\r\n\
        $4\r\ntype\r\n$5\r\nblock\r\n$5\r\nflags\r\n*1\r\n+multiple\r\n\
        $9\r\narguments\r\n*2\r\n*6\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\n\
        type\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n*4\r\n$4\r\n\
        name\r\n$5\r\nvalue\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    },
    Spec {
        name: "mget",
        arity: -2,
        info: b"*10\r\n$4\r\nmget\r\n:-2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n\
        :-1\r\n:1\r\n*3\r\n+@read\r\n+@string\r\n+@fast\r\n*1\r\n$26\r\n\
        request_policy:multi_shard\r\n*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n\
        +RO\r\n+access\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n\
        $5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\n\
        find_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n\
        *6\r\n$7\r\nlastkey\r\n:-1\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n\
        :0\r\n*0\r\n",
        docs: b"*10\r\n$7\r\nsummary\r\n$36\r\nGet the values of all the given keys\r\n\
        $5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n\
        $10\r\ncomplexity\r\n$47\r\nO(N) where N is the number of keys to retrieve.\r\n\
        $9\r\narguments\r\n*1\r\n*8\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\n\
        type\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$5\r\nflags\r\n\
        *1\r\n+multiple\r\n",
    },
    Spec {
        name: "expire",
        arity: -3,
        info: b"*10\r\n$6\r\nexpire\r\n:-3\r\n*2\r\n+write\r\n+fast\r\n:1\r\n\
        :1\r\n:1\r\n*3\r\n+@keyspace\r\n+@write\r\n+@fast\r\n*0\r\n*1\r\n\
        *6\r\n$5\r\nflags\r\n*2\r\n+RW\r\n+update\r\n$12\r\nbegin_search\r\n\
        *4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\n\
        index\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n\
        $4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n\
        $5\r\nlimit\r\n:0\r\n*0\r\n",
        docs: b"*12\r\n$7\r\nsummary\r\n$35\r\nSet a key's time to live in seconds\r\n\
        $5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n\
        $10\r\ncomplexity\r\n$4\r\nO(1)\r\n$7\r\nhistory\r\n*1\r\n*2\r\n\
        $5\r\n7.0.0\r\n$41\r\nAdded options: `NX`, `XX`, `GT` and `LT`.\r\n\
        $9\r\narguments\r\n*3\r\n*6\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\n\
        type\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n*4\r\n$4\r\n\
        name\r\n$7\r\nseconds\r\n$4\r\ntype\r\n$7\r\ninteger\r\n*10\r\n\
        $4\r\nname\r\n$9\r\ncondition\r\n$4\r\ntype\r\n$5\r\noneof\r\n\
        $5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\nflags\r\n*1\r\n+optional\r\n\
        $9\r\narguments\r\n*4\r\n*6\r\n$4\r\nname\r\n$2\r\nnx\r\n$4\r\n\
        type\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nNX\r\n*6\r\n\
        $4\r\nname\r\n$2\r\nxx\r\n$4\r\ntype\r\n$10\r\npure-token\r\n\
        $5\r\ntoken\r\n$2\r\nXX\r\n*6\r\n$4\r\nname\r\n$2\r\ngt\r\n$4\r\n\
        type\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nGT\r\n*6\r\n\
        $4\r\nname\r\n$2\r\nlt\r\n$4\r\ntype\r\n$10\r\npure-token\r\n\
        $5\r\ntoken\r\n$2\r\nLT\r\n",
    },
    Spec {
        name: "pexpire",
        arity: -3,
        info: b"*10\r\n$7\r\npexpire\r\n:-3\r\n*2\r\n+write\r\n+fast\r\n:1\r\n\
        :1\r\n:1\r\n*3\r\n+@keyspace\r\n+@write\r\n+@fast\r\n*0\r\n*1\r\n\
        *6\r\n$5\r\nflags\r\n*2\r\n+RW\r\n+update\r\n$12\r\nbegin_search\r\n\
        *4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\n\
        index\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n\
        $4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n\
        $5\r\nlimit\r\n:0\r\n*0\r\n",
        docs: b"*12\r\n$7\r\nsummary\r\n$40\r\nSet a key's time to live in milliseconds\r\n\
        $5\r\nsince\r\n$5\r\n2.6.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n\
        $10\r\ncomplexity\r\n$4\r\nO(1)\r\n$7\r\nhistory\r\n*1\r\n*2\r\n\
        $5\r\n7.0.0\r\n$41\r\nAdded options: `NX`, `XX`, `GT` and `LT`.\r\n\
        $9\r\narguments\r\n*3\r\n*6\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\n\
        type\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n*4\r\n$4\r\n\
        name\r\n$12\r\nmilliseconds\r\n$4\r\ntype\r\n$7\r\ninteger\r\n\
        *10\r\n$4\r\nname\r\n$9\r\ncondition\r\n$4\r\ntype\r\n$5\r\noneof\r\n\
        $5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\nflags\r\n*1\r\n+optional\r\n\
        $9\r\narguments\r\n*4\r\n*6\r\n$4\r\nname\r\n$2\r\nnx\r\n$4\r\n\
        type\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nNX\r\n*6\r\n\
        $4\r\nname\r\n$2\r\nxx\r\n$4\r\ntype\r\n$10\r\npure-token\r\n\
        $5\r\ntoken\r\n$2\r\nXX\r\n*6\r\n$4\r\nname\r\n$2\r\ngt\r\n$4\r\n\
        type\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nGT\r\n*6\r\n\
        $4\r\nname\r\n$2\r\nlt\r\n$4\r\ntype\r\n$10\r\npure-token\r\n\
        $5\r\ntoken\r\n$2\r\nLT\r\n",
    },
    Spec {
        name: "ttl",
        arity: 2,
        info: b"*10\r\n$3\r\nttl\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n\
        :1\r\n*3\r\n+@keyspace\r\n+@read\r\n+@fast\r\n*1\r\n$23\r\nnondeterministic_output\r\n\
        *1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n\
        *4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\n\
        index\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n\
        $4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n\
        $5\r\nlimit\r\n:0\r\n*0\r\n",
        docs: b"*12\r\n$7\r\nsummary\r\n$41\r\nGet the time to live for a key in seconds\r\n\
        $5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n\
        $10\r\ncomplexity\r\n$4\r\nO(1)\r\n$7\r\nhistory\r\n*1\r\n*2\r\n\
        $5\r\n2.8.0\r\n$19\r\nAdded the -2 reply.\r\n$9\r\narguments\r\n\
        *1\r\n*6\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n\
        $14\r\nkey_spec_index\r\n:0\r\n",
    },
    Spec {
        name: "pttl",
        arity: 2,
        info: b"*10\r\n$4\r\npttl\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n\
        :1\r\n:1\r\n*3\r\n+@keyspace\r\n+@read\r\n+@fast\r\n*1\r\n$23\r\n\
        nondeterministic_output\r\n*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n\
        +access\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n\
        $4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n\
        $4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n\
        :0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n",
        docs: b"*12\r\n$7\r\nsummary\r\n$46\r\nGet the time to live for a key in milliseconds\r\n\
        $5\r\nsince\r\n$5\r\n2.6.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n\
        $10\r\ncomplexity\r\n$4\r\nO(1)\r\n$7\r\nhistory\r\n*1\r\n*2\r\n\
        $5\r\n2.8.0\r\n$19\r\nAdded the -2 reply.\r\n$9\r\narguments\r\n\
        *1\r\n*6\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n\
        $14\r\nkey_spec_index\r\n:0\r\n",
    },
    Spec {
        name: "persist",
        arity: 2,
        info: b"*10\r\n$7\r\npersist\r\n:2\r\n*2\r\n+write\r\n+fast\r\n:1\r\n\
        :1\r\n:1\r\n*3\r\n+@keyspace\r\n+@write\r\n+@fast\r\n*0\r\n*1\r\n\
        *6\r\n$5\r\nflags\r\n*2\r\n+RW\r\n+update\r\n$12\r\nbegin_search\r\n\
        *4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\n\
        index\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n\
        $4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n\
        $5\r\nlimit\r\n:0\r\n*0\r\n",
        docs: b"*10\r\n$7\r\nsummary\r\n$32\r\nRemove the expiration from a key\r\n\
        $5\r\nsince\r\n$5\r\n2.2.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n\
        $10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n*6\r\n\
        $4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\n\
        key_spec_index\r\n:0\r\n",
    },
    Spec {
        name: "dbsize",
        arity: 1,
        info: b"*10\r\n$6\r\ndbsize\r\n:1\r\n*2\r\n+readonly\r\n+fast\r\n:0\r\n\
        :0\r\n:0\r\n*3\r\n+@keyspace\r\n+@read\r\n+@fast\r\n*2\r\n$25\r\n\
        request_policy:all_shards\r\n$23\r\nresponse_policy:agg_sum\r\n\
        *0\r\n*0\r\n",
        docs: b"*8\r\n$7\r\nsummary\r\n$50\r\nReturn the number of keys in the selected database\r\n\
        $5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n\
        $10\r\ncomplexity\r\n$4\r\nO(1)\r\n",
    },
    Spec {
        name: "flushall",
        arity: -1,
        info: b"*10\r\n$8\r\nflushall\r\n:-1\r\n*1\r\n+write\r\n:0\r\n:0\r\n:0\r\n\
        *4\r\n+@keyspace\r\n+@write\r\n+@slow\r\n+@dangerous\r\n*2\r\n\
        $25\r\nrequest_policy:all_shards\r\n$29\r\nresponse_policy:all_succeeded\r\n\
        *0\r\n*0\r\n",
        docs: b"*12\r\n$7\r\nsummary\r\n$34\r\nRemove all keys from all databases\r\n\
        $5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n\
        $10\r\ncomplexity\r\n$57\r\nO(N) where N is the total number of keys in all databases\r\n\
        $7\r\nhistory\r\n*2\r\n*2\r\n$5\r\n4.0.0\r\n$41\r\nAdded the `ASYNC` flushing mode modifier.\r\n\
        *2\r\n$5\r\n6.2.0\r\n$40\r\nAdded the `SYNC` flushing mode modifier.\r\n\
        $9\r\narguments\r\n*1\r\n*8\r\n$4\r\nname\r\n$5\r\nasync\r\n$4\r\n\
        type\r\n$5\r\noneof\r\n$5\r\nflags\r\n*1\r\n+optional\r\n$9\r\n\
        arguments\r\n*2\r\n*8\r\n$4\r\nname\r\n$5\r\nasync\r\n$4\r\ntype\r\n\
        $10\r\npure-token\r\n$5\r\ntoken\r\n$5\r\nASYNC\r\n$5\r\nsince\r\n\
        $5\r\n4.0.0\r\n*8\r\n$4\r\nname\r\n$4\r\nsync\r\n$4\r\ntype\r\n\
        $10\r\npure-token\r\n$5\r\ntoken\r\n$4\r\nSYNC\r\n$5\r\nsince\r\n\
        $5\r\n6.2.0\r\n",
    },
    Spec {
        name: "flushdb",
        arity: -1,
        info: b"*10\r\n$7\r\nflushdb\r\n:-1\r\n*1\r\n+write\r\n:0\r\n:0\r\n:0\r\n\
        *4\r\n+@keyspace\r\n+@write\r\n+@slow\r\n+@dangerous\r\n*2\r\n\
        $25\r\nrequest_policy:all_shards\r\n$29\r\nresponse_policy:all_succeeded\r\n\
        *0\r\n*0\r\n",
        docs: b"*12\r\n$7\r\nsummary\r\n$41\r\nRemove all keys from the current database\r\n\
        $5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n\
        $10\r\ncomplexity\r\n$59\r\nO(N) where N is the number of keys in the selected database\r\n\
        $7\r\nhistory\r\n*2\r\n*2\r\n$5\r\n4.0.0\r\n$41\r\nAdded the `ASYNC` flushing mode modifier.\r\n\
        *2\r\n$5\r\n6.2.0\r\n$40\r\nAdded the `SYNC` flushing mode modifier.\r\n\
        $9\r\narguments\r\n*1\r\n*8\r\n$4\r\nname\r\n$5\r\nasync\r\n$4\r\n\
        type\r\n$5\r\noneof\r\n$5\r\nflags\r\n*1\r\n+optional\r\n$9\r\n\
        arguments\r\n*2\r\n*8\r\n$4\r\nname\r\n$5\r\nasync\r\n$4\r\ntype\r\n\
        $10\r\npure-token\r\n$5\r\ntoken\r\n$5\r\nASYNC\r\n$5\r\nsince\r\n\
        $5\r\n4.0.0\r\n*8\r\n$4\r\nname\r\n$4\r\nsync\r\n$4\r\ntype\r\n\
        $10\r\npure-token\r\n$5\r\ntoken\r\n$4\r\nSYNC\r\n$5\r\nsince\r\n\
        $5\r\n6.2.0\r\n",
    },
    Spec {
        name: "quit",
        arity: -1,
        info: b"*10\r\n$4\r\nquit\r\n:-1\r\n*6\r\n+noscript\r\n+loading\r\n+stale\r\n\
        +fast\r\n+no_auth\r\n+allow_busy\r\n:0\r\n:0\r\n:0\r\n*2\r\n+@fast\r\n\
        +@connection\r\n*0\r\n*0\r\n*0\r\n",
        docs: b"*8\r\n$7\r\nsummary\r\n$20\r\nClose the connection\r\n$5\r\nsince\r\n\
        $5\r\n1.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\ncomplexity\r\n\
        $4\r\nO(1)\r\n",
    },
    Spec {
        name: "select",
        arity: 2,
        info: b"*10\r\n$6\r\nselect\r\n:2\r\n*3\r\n+loading\r\n+stale\r\n+fast\r\n\
        :0\r\n:0\r\n:0\r\n*2\r\n+@fast\r\n+@connection\r\n*0\r\n*0\r\n\
        *0\r\n",
        docs: b"*10\r\n$7\r\nsummary\r\n$55\r\nChange the selected database for the current connection\r\n\
        $5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n\
        $10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n*4\r\n\
        $4\r\nname\r\n$5\r\nindex\r\n$4\r\ntype\r\n$7\r\ninteger\r\n",
    },
    Spec {
        name: "command",
        arity: -1,
        info: b"*10\r\n$7\r\ncommand\r\n:-1\r\n*2\r\n+loading\r\n+stale\r\n:0\r\n\
        :0\r\n:0\r\n*2\r\n+@slow\r\n+@connection\r\n*1\r\n$29\r\nnondeterministic_output_order\r\n\
        *0\r\n*4\r\n*10\r\n$13\r\ncommand|count\r\n:2\r\n*2\r\n+loading\r\n\
        +stale\r\n:0\r\n:0\r\n:0\r\n*2\r\n+@slow\r\n+@connection\r\n*0\r\n\
        *0\r\n*0\r\n*10\r\n$12\r\ncommand|docs\r\n:-2\r\n*2\r\n+loading\r\n\
        +stale\r\n:0\r\n:0\r\n:0\r\n*2\r\n+@slow\r\n+@connection\r\n*1\r\n\
        $29\r\nnondeterministic_output_order\r\n*0\r\n*0\r\n*10\r\n$12\r\n\
        command|info\r\n:-2\r\n*2\r\n+loading\r\n+stale\r\n:0\r\n:0\r\n\
        :0\r\n*2\r\n+@slow\r\n+@connection\r\n*1\r\n$29\r\nnondeterministic_output_order\r\n\
        *0\r\n*0\r\n*10\r\n$12\r\ncommand|help\r\n:2\r\n*2\r\n+loading\r\n\
        +stale\r\n:0\r\n:0\r\n:0\r\n*2\r\n+@slow\r\n+@connection\r\n*0\r\n\
        *0\r\n*0\r\n",
        docs: b"*10\r\n$7\r\nsummary\r\n$34\r\nGet array of Redis command details\r\n\
        $5\r\nsince\r\n$6\r\n2.8.13\r\n$5\r\ngroup\r\n$6\r\nserver\r\n\
        $10\r\ncomplexity\r\n$50\r\nO(N) where N is the total number of Redis commands\r\n\
        $11\r\nsubcommands\r\n*8\r\n$13\r\ncommand|count\r\n*8\r\n$7\r\n\
        summary\r\n$34\r\nGet total number of Redis commands\r\n$5\r\n\
        since\r\n$6\r\n2.8.13\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\n\
        complexity\r\n$4\r\nO(1)\r\n$12\r\ncommand|docs\r\n*10\r\n$7\r\n\
        summary\r\n$49\r\nGet array of specific Redis command documentation\r\n\
        $5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n\
        $10\r\ncomplexity\r\n$49\r\nO(N) where N is the number of commands to look up\r\n\
        $9\r\narguments\r\n*1\r\n*6\r\n$4\r\nname\r\n$12\r\ncommand-name\r\n\
        $4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n*2\r\n+optional\r\n\
        +multiple\r\n$12\r\ncommand|info\r\n*12\r\n$7\r\nsummary\r\n$78\r\n\
        Get array of specific Redis command details, or all when no argument is given.\r\n\
        $5\r\nsince\r\n$6\r\n2.8.13\r\n$5\r\ngroup\r\n$6\r\nserver\r\n\
        $10\r\ncomplexity\r\n$49\r\nO(N) where N is the number of commands to look up\r\n\
        $7\r\nhistory\r\n*1\r\n*2\r\n$5\r\n7.0.0\r\n$66\r\nAllowed to be called with no argument to get info on all commands.\r\n\
        $9\r\narguments\r\n*1\r\n*6\r\n$4\r\nname\r\n$12\r\ncommand-name\r\n\
        $4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n*2\r\n+optional\r\n\
        +multiple\r\n$12\r\ncommand|help\r\n*8\r\n$7\r\nsummary\r\n$49\r\n\
        Show helpful text about the different subcommands\r\n$5\r\nsince\r\n\
        $5\r\n5.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n\
        $4\r\nO(1)\r\n",
    },
    Spec {
        name: "config",
        arity: -2,
        info: b"*10\r\n$6\r\nconfig\r\n:-2\r\n*0\r\n:0\r\n:0\r\n:0\r\n*1\r\n+@slow\r\n\
        *0\r\n*0\r\n*2\r\n*10\r\n$10\r\nconfig|get\r\n:-3\r\n*4\r\n+admin\r\n\
        +noscript\r\n+loading\r\n+stale\r\n:0\r\n:0\r\n:0\r\n*3\r\n+@admin\r\n\
        +@slow\r\n+@dangerous\r\n*0\r\n*0\r\n*0\r\n*10\r\n$11\r\nconfig|help\r\n\
        :2\r\n*2\r\n+loading\r\n+stale\r\n:0\r\n:0\r\n:0\r\n*1\r\n+@slow\r\n\
        *0\r\n*0\r\n*0\r\n",
        docs: b"*10\r\n$7\r\nsummary\r\n$45\r\nA container for server configuration commands\r\n\
        $5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n\
        $10\r\ncomplexity\r\n$22\r\nDepends on subcommand.\r\n$11\r\n\
        subcommands\r\n*4\r\n$10\r\nconfig|get\r\n*12\r\n$7\r\nsummary\r\n\
        $42\r\nGet the values of configuration parameters\r\n$5\r\nsince\r\n\
        $5\r\n2.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n\
        $62\r\nO(N) when N is the number of configuration parameters provided\r\n\
        $7\r\nhistory\r\n*1\r\n*2\r\n$5\r\n7.0.0\r\n$65\r\nAdded the ability to pass multiple pattern parameters in one call\r\n\
        $9\r\narguments\r\n*1\r\n*8\r\n$4\r\nname\r\n$9\r\nparameter\r\n\
        $4\r\ntype\r\n$5\r\nblock\r\n$5\r\nflags\r\n*1\r\n+multiple\r\n\
        $9\r\narguments\r\n*1\r\n*4\r\n$4\r\nname\r\n$9\r\nparameter\r\n\
        $4\r\ntype\r\n$6\r\nstring\r\n$11\r\nconfig|help\r\n*8\r\n$7\r\n\
        summary\r\n$49\r\nShow helpful text about the different subcommands\r\n\
        $5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n\
        $10\r\ncomplexity\r\n$4\r\nO(1)\r\n",
    },
    Spec {
        name: "hello",
        arity: -1,
        info: b"*10\r\n$5\r\nhello\r\n:-1\r\n*6\r\n+noscript\r\n+loading\r\n+stale\r\n\
        +fast\r\n+no_auth\r\n+allow_busy\r\n:0\r\n:0\r\n:0\r\n*2\r\n+@fast\r\n\
        +@connection\r\n*0\r\n*0\r\n*0\r\n",
        docs: b"*12\r\n$7\r\nsummary\r\n$20\r\nHandshake with Redis\r\n$5\r\n\
        since\r\n$5\r\n6.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\n\
        complexity\r\n$4\r\nO(1)\r\n$7\r\nhistory\r\n*1\r\n*2\r\n$5\r\n\
        6.2.0\r\n$109\r\n`protover` made optional; when called without arguments the command reports the current connection's context.\r\n\
        $9\r\narguments\r\n*1\r\n*8\r\n$4\r\nname\r\n$9\r\narguments\r\n\
        $4\r\ntype\r\n$5\r\nblock\r\n$5\r\nflags\r\n*1\r\n+optional\r\n\
        $9\r\narguments\r\n*3\r\n*4\r\n$4\r\nname\r\n$8\r\nprotover\r\n\
        $4\r\ntype\r\n$7\r\ninteger\r\n*10\r\n$4\r\nname\r\n$17\r\nusername_password\r\n\
        $4\r\ntype\r\n$5\r\nblock\r\n$5\r\ntoken\r\n$4\r\nAUTH\r\n$5\r\n\
        flags\r\n*1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n*4\r\n$4\r\n\
        name\r\n$8\r\nusername\r\n$4\r\ntype\r\n$6\r\nstring\r\n*4\r\n\
        $4\r\nname\r\n$8\r\npassword\r\n$4\r\ntype\r\n$6\r\nstring\r\n\
        *8\r\n$4\r\nname\r\n$10\r\nclientname\r\n$4\r\ntype\r\n$6\r\n\
        string\r\n$5\r\ntoken\r\n$7\r\nSETNAME\r\n$5\r\nflags\r\n*1\r\n\
        +optional\r\n",
    },
    Spec {
        name: "client",
        arity: -2,
        info: b"*10\r\n$6\r\nclient\r\n:-2\r\n*0\r\n:0\r\n:0\r\n:0\r\n*1\r\n+@slow\r\n\
        *0\r\n*0\r\n*4\r\n*10\r\n$9\r\nclient|id\r\n:2\r\n*3\r\n+noscript\r\n\
        +loading\r\n+stale\r\n:0\r\n:0\r\n:0\r\n*2\r\n+@slow\r\n+@connection\r\n\
        *0\r\n*0\r\n*0\r\n*10\r\n$11\r\nclient|help\r\n:2\r\n*2\r\n+loading\r\n\
        +stale\r\n:0\r\n:0\r\n:0\r\n*2\r\n+@slow\r\n+@connection\r\n*0\r\n\
        *0\r\n*0\r\n*10\r\n$14\r\nclient|getname\r\n:2\r\n*3\r\n+noscript\r\n\
        +loading\r\n+stale\r\n:0\r\n:0\r\n:0\r\n*2\r\n+@slow\r\n+@connection\r\n\
        *0\r\n*0\r\n*0\r\n*10\r\n$14\r\nclient|setname\r\n:3\r\n*3\r\n\
        +noscript\r\n+loading\r\n+stale\r\n:0\r\n:0\r\n:0\r\n*2\r\n+@slow\r\n\
        +@connection\r\n*0\r\n*0\r\n*0\r\n",
        docs: b"*10\r\n$7\r\nsummary\r\n$42\r\nA container for client connection commands\r\n\
        $5\r\nsince\r\n$5\r\n2.4.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n\
        $10\r\ncomplexity\r\n$22\r\nDepends on subcommand.\r\n$11\r\n\
        subcommands\r\n*8\r\n$9\r\nclient|id\r\n*8\r\n$7\r\nsummary\r\n\
        $48\r\nReturns the client ID for the current connection\r\n$5\r\n\
        since\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\n\
        complexity\r\n$4\r\nO(1)\r\n$11\r\nclient|help\r\n*8\r\n$7\r\n\
        summary\r\n$49\r\nShow helpful text about the different subcommands\r\n\
        $5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n\
        $10\r\ncomplexity\r\n$4\r\nO(1)\r\n$14\r\nclient|getname\r\n*8\r\n\
        $7\r\nsummary\r\n$31\r\nGet the current connection name\r\n$5\r\n\
        since\r\n$5\r\n2.6.9\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\n\
        complexity\r\n$4\r\nO(1)\r\n$14\r\nclient|setname\r\n*10\r\n$7\r\n\
        summary\r\n$31\r\nSet the current connection name\r\n$5\r\nsince\r\n\
        $5\r\n2.6.9\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\ncomplexity\r\n\
        $4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n*4\r\n$4\r\nname\r\n$15\r\n\
        connection-name\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    },
    Spec {
        name: "info",
        arity: -1,
        info: b"*10\r\n$4\r\ninfo\r\n:-1\r\n*2\r\n+loading\r\n+stale\r\n:0\r\n\
        :0\r\n:0\r\n*2\r\n+@slow\r\n+@dangerous\r\n*3\r\n$23\r\nnondeterministic_output\r\n\
        $25\r\nrequest_policy:all_shards\r\n$23\r\nresponse_policy:special\r\n\
        *0\r\n*0\r\n",
        docs: b"*12\r\n$7\r\nsummary\r\n$47\r\nGet information and statistics about the server\r\n\
        $5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n\
        $10\r\ncomplexity\r\n$4\r\nO(1)\r\n$7\r\nhistory\r\n*1\r\n*2\r\n\
        $5\r\n7.0.0\r\n$52\r\nAdded support for taking multiple section arguments.\r\n\
        $9\r\narguments\r\n*1\r\n*6\r\n$4\r\nname\r\n$7\r\nsection\r\n\
        $4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n*2\r\n+optional\r\n\
        +multiple\r\n",
    },
];

/// Subcommands, in the order of [`super::Sub`].
pub const SUBCOMMANDS: [Spec; 10] = [
    Spec {
        name: "command|count",
        arity: 2,
        info: b"*10\r\n$13\r\ncommand|count\r\n:2\r\n*2\r\n+loading\r\n+stale\r\n\
        :0\r\n:0\r\n:0\r\n*2\r\n+@slow\r\n+@connection\r\n*0\r\n*0\r\n\
        *0\r\n",
        docs: b"*8\r\n$7\r\nsummary\r\n$34\r\nGet total number of Redis commands\r\n\
        $5\r\nsince\r\n$6\r\n2.8.13\r\n$5\r\ngroup\r\n$6\r\nserver\r\n\
        $10\r\ncomplexity\r\n$4\r\nO(1)\r\n",
    },
    Spec {
        name: "command|docs",
        arity: -2,
        info: b"*10\r\n$12\r\ncommand|docs\r\n:-2\r\n*2\r\n+loading\r\n+stale\r\n\
        :0\r\n:0\r\n:0\r\n*2\r\n+@slow\r\n+@connection\r\n*1\r\n$29\r\n\
        nondeterministic_output_order\r\n*0\r\n*0\r\n",
        docs: b"*10\r\n$7\r\nsummary\r\n$49\r\nGet array of specific Redis command documentation\r\n\
        $5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n\
        $10\r\ncomplexity\r\n$49\r\nO(N) where N is the number of commands to look up\r\n\
        $9\r\narguments\r\n*1\r\n*6\r\n$4\r\nname\r\n$12\r\ncommand-name\r\n\
        $4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n*2\r\n+optional\r\n\
        +multiple\r\n",
    },
    Spec {
        name: "command|info",
        arity: -2,
        info: b"*10\r\n$12\r\ncommand|info\r\n:-2\r\n*2\r\n+loading\r\n+stale\r\n\
        :0\r\n:0\r\n:0\r\n*2\r\n+@slow\r\n+@connection\r\n*1\r\n$29\r\n\
        nondeterministic_output_order\r\n*0\r\n*0\r\n",
        docs: b"*12\r\n$7\r\nsummary\r\n$78\r\nGet array of specific Redis command details, or all when no argument is given.\r\n\
        $5\r\nsince\r\n$6\r\n2.8.13\r\n$5\r\ngroup\r\n$6\r\nserver\r\n\
        $10\r\ncomplexity\r\n$49\r\nO(N) where N is the number of commands to look up\r\n\
        $7\r\nhistory\r\n*1\r\n*2\r\n$5\r\n7.0.0\r\n$66\r\nAllowed to be called with no argument to get info on all commands.\r\n\
        $9\r\narguments\r\n*1\r\n*6\r\n$4\r\nname\r\n$12\r\ncommand-name\r\n\
        $4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n*2\r\n+optional\r\n\
        +multiple\r\n",
    },
    Spec {
        name: "command|help",
        arity: 2,
        info: b"*10\r\n$12\r\ncommand|help\r\n:2\r\n*2\r\n+loading\r\n+stale\r\n\
        :0\r\n:0\r\n:0\r\n*2\r\n+@slow\r\n+@connection\r\n*0\r\n*0\r\n\
        *0\r\n",
        docs: b"*8\r\n$7\r\nsummary\r\n$49\r\nShow helpful text about the different subcommands\r\n\
        $5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n\
        $10\r\ncomplexity\r\n$4\r\nO(1)\r\n",
    },
    Spec {
        name: "config|get",
        arity: -3,
        info: b"*10\r\n$10\r\nconfig|get\r\n:-3\r\n*4\r\n+admin\r\n+noscript\r\n\
        +loading\r\n+stale\r\n:0\r\n:0\r\n:0\r\n*3\r\n+@admin\r\n+@slow\r\n\
        +@dangerous\r\n*0\r\n*0\r\n*0\r\n",
        docs: b"*12\r\n$7\r\nsummary\r\n$42\r\nGet the values of configuration parameters\r\n\
        $5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n\
        $10\r\ncomplexity\r\n$62\r\nO(N) when N is the number of configuration parameters provided\r\n\
        $7\r\nhistory\r\n*1\r\n*2\r\n$5\r\n7.0.0\r\n$65\r\nAdded the ability to pass multiple pattern parameters in one call\r\n\
        $9\r\narguments\r\n*1\r\n*8\r\n$4\r\nname\r\n$9\r\nparameter\r\n\
        $4\r\ntype\r\n$5\r\nblock\r\n$5\r\nflags\r\n*1\r\n+multiple\r\n\
        $9\r\narguments\r\n*1\r\n*4\r\n$4\r\nname\r\n$9\r\nparameter\r\n\
        $4\r\ntype\r\n$6\r\nstring\r\n",
    },
    Spec {
        name: "config|help",
        arity: 2,
        info: b"*10\r\n$11\r\nconfig|help\r\n:2\r\n*2\r\n+loading\r\n+stale\r\n\
        :0\r\n:0\r\n:0\r\n*1\r\n+@slow\r\n*0\r\n*0\r\n*0\r\n",
        docs: b"*8\r\n$7\r\nsummary\r\n$49\r\nShow helpful text about the different subcommands\r\n\
        $5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n\
        $10\r\ncomplexity\r\n$4\r\nO(1)\r\n",
    },
    Spec {
        name: "client|setname",
        arity: 3,
        info: b"*10\r\n$14\r\nclient|setname\r\n:3\r\n*3\r\n+noscript\r\n+loading\r\n\
        +stale\r\n:0\r\n:0\r\n:0\r\n*2\r\n+@slow\r\n+@connection\r\n*0\r\n\
        *0\r\n*0\r\n",
        docs: b"*10\r\n$7\r\nsummary\r\n$31\r\nSet the current connection name\r\n\
        $5\r\nsince\r\n$5\r\n2.6.9\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n\
        $10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n*4\r\n\
        $4\r\nname\r\n$15\r\nconnection-name\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    },
    Spec {
        name: "client|getname",
        arity: 2,
        info: b"*10\r\n$14\r\nclient|getname\r\n:2\r\n*3\r\n+noscript\r\n+loading\r\n\
        +stale\r\n:0\r\n:0\r\n:0\r\n*2\r\n+@slow\r\n+@connection\r\n*0\r\n\
        *0\r\n*0\r\n",
        docs: b"*8\r\n$7\r\nsummary\r\n$31\r\nGet the current connection name\r\n\
        $5\r\nsince\r\n$5\r\n2.6.9\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n\
        $10\r\ncomplexity\r\n$4\r\nO(1)\r\n",
    },
    Spec {
        name: "client|id",
        arity: 2,
        info: b"*10\r\n$9\r\nclient|id\r\n:2\r\n*3\r\n+noscript\r\n+loading\r\n\
        +stale\r\n:0\r\n:0\r\n:0\r\n*2\r\n+@slow\r\n+@connection\r\n*0\r\n\
        *0\r\n*0\r\n",
        docs: b"*8\r\n$7\r\nsummary\r\n$48\r\nReturns the client ID for the current connection\r\n\
        $5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n\
        $10\r\ncomplexity\r\n$4\r\nO(1)\r\n",
    },
    Spec {
        name: "client|help",
        arity: 2,
        info: b"*10\r\n$11\r\nclient|help\r\n:2\r\n*2\r\n+loading\r\n+stale\r\n\
        :0\r\n:0\r\n:0\r\n*2\r\n+@slow\r\n+@connection\r\n*0\r\n*0\r\n\
        *0\r\n",
        docs: b"*8\r\n$7\r\nsummary\r\n$49\r\nShow helpful text about the different subcommands\r\n\
        $5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n\
        $10\r\ncomplexity\r\n$4\r\nO(1)\r\n",
    },
];
