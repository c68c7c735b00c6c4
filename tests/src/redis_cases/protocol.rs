//! The protocol itself: pipelining, inline requests and their quoting, requests split across
//! reads, protocol errors (each closes the connection), the HTTP guard, 1 MiB values.

use super::*;

pub(super) fn cases() -> Vec<Case> {
    let mut v = vec![
        case(
            "pipeline_mixed",
            [
                b"PING\r\nSET pm 1\r\n".to_vec(),
                pipe(&["INCR pm", "GET pm"]),
                b"ECHO inline\r\n".to_vec(),
                pipe(&["DEL pm"]),
            ]
            .concat(),
        ),
        case(
            "pipeline_many",
            (0..50)
                .flat_map(|i| {
                    pipe(&[
                        format!("SET pk{i} v{i}").as_str(),
                        format!("GET pk{i}").as_str(),
                    ])
                })
                .collect(),
        ),
        Case {
            pauses: vec![3, 9, 14, 20, 27],
            ..case(
                "split_multibulk",
                pipe(&["SET split value-split", "GET split"]),
            )
        },
        Case {
            pauses: vec![2, 5, 12, 13],
            ..case("split_inline", b"SET sp 1\r\nGET sp\r\n".to_vec())
        },
        Case {
            pauses: vec![6, 1000, 500_000],
            ..case(
                "split_big_bulk",
                [mb(&[b"SET", b"sbb", &big_value()]), pipe(&["GET sbb"])].concat(),
            )
        },
        case(
            "inline_quotes",
            [
                &b"ECHO \"a\\x41\\n\\t\\r\\b\\a\\z\\\"q\"\r\n"[..],
                b"ECHO 'it\\'s'\r\n",
                b"ECHO ab\"cd ef\"\r\n",
                b"ECHO \"\\xzz\\x4\"\r\n",
                b"ECHO \"\"\r\n",
                b"ECHO ''\r\n",
                b"ECHO a\x0bb\r\n",
                b"ECHO \"a\"\x0b\r\n",
                b"ECHO\x0b a\r\n",
                b"  ECHO   spaced   \r\n",
                b"ECHO\ttab\r\n",
                b"set a b\rget a\r\n",
                b"ECHO 'a\"b' \"c'd\"\r\n",
            ]
            .concat(),
        ),
        case(
            "inline_line_ends",
            b"PING\nECHO lf\nECHO crlf\r\nPING\r\r\n".to_vec(),
        ),
        case(
            "inline_empty_lines",
            b"\r\n\n   \r\n\t\r\nPING\r\n".to_vec(),
        ),
        case(
            "multibulk_empty",
            b"*0\r\nPING\r\n*-1\r\nPING\r\n*-5\r\nPING\r\n".to_vec(),
        ),
        case(
            "multibulk_unchecked_crlf",
            b"*1\rX$4\r\nPING\r\n*1\r\n$4\r\nPINGXY*2\r\n$4\r\nECHO\r\n$1\r\nxYZ".to_vec(),
        ),
        case(
            "multibulk_binary_args",
            mb(&[b"ECHO", &(0..=255u8).collect::<Vec<u8>>()]),
        ),
        closing(
            "proto_unbalanced_double",
            b"PING\r\nECHO \"abc\r\nPING\r\n".to_vec(),
        ),
        closing("proto_closing_quote", b"ECHO \"abc\"d\r\n".to_vec()),
        closing("proto_unbalanced_single", b"ECHO 'a'b\r\n".to_vec()),
        closing("proto_unterminated_single", b"ECHO 'abc\r\n".to_vec()),
        closing("proto_invalid_multibulk", b"*x\r\n".to_vec()),
        closing(
            "proto_invalid_multibulk_plus",
            b"*+1\r\n$4\r\nPING\r\n".to_vec(),
        ),
        closing("proto_multibulk_too_long", b"*2147483648\r\n".to_vec()),
        closing("proto_multibulk_empty_count", b"*\r\n".to_vec()),
        closing(
            "proto_expected_dollar",
            b"*2\r\n$4\r\nECHO\r\n+3\r\nabc\r\n".to_vec(),
        ),
        closing(
            "proto_expected_dollar_cr",
            b"*2\r\n$4\r\nECHO\r\n\r\n\r\n".to_vec(),
        ),
        closing(
            "proto_expected_dollar_lf",
            b"*2\r\n$4\r\nECHO\r\n\n\r\n".to_vec(),
        ),
        closing("proto_invalid_bulk_negative", b"*1\r\n$-1\r\n".to_vec()),
        closing(
            "proto_invalid_bulk_too_big",
            b"*1\r\n$536870913\r\n".to_vec(),
        ),
        closing("proto_invalid_bulk_text", b"*1\r\n$abc\r\n".to_vec()),
        closing(
            "proto_after_commands",
            b"PING\r\nSET pac 1\r\n*x\r\nPING\r\n".to_vec(),
        ),
        closing("proto_too_big_inline", vec![b'a'; 70_000]),
        closing(
            "proto_too_big_mbulk_count",
            [&b"*"[..], &[b'1'; 70_000]].concat(),
        ),
        closing(
            "proto_too_big_bulk_count",
            [&b"*1\r\n$"[..], &[b'1'; 70_000]].concat(),
        ),
        closing(
            "http_post",
            b"POST / HTTP/1.1\r\nHost: example\r\n\r\n".to_vec(),
        ),
        closing("http_host", b"PING\r\nHost: example\r\nPING\r\n".to_vec()),
    ];
    let big = big_value();
    v.push(case(
        "big_value",
        [
            mb(&[b"SET", b"big", &big]),
            mb(&[b"GET", b"big"]),
            mb(&[b"MGET", b"big", b"nobig", b"big"]),
            mb(&[b"ECHO", &big]),
        ]
        .concat(),
    ));
    v
}
