#!/usr/bin/env python3
"""hostile_framing.py HTTPS_PORT HTTP_PORT CAFILE: the framing and payload
cases of the hostile-input test (test_hostile_framing.sh), on both
listeners, each asserting the exact statuses and the close, with a health
probe of both listeners after every group.  Exit 1 on any failure; the
summary table goes to stdout.
"""
import sys
import time

from hostile import Case, Listener, probe, run_cases, summary, RESULTS

EST_MAX_BODY = 65536        # est/est.h
OCSPR_MAX_BODY = 10240      # ocsp/ocsp.h
API_MAX_BODY = 65536        # the default max_body (bridge/config_table.c)


def req(method, path, headers=(), body=b"", version=b"HTTP/1.1", host=True):
    h = b"".join(x + b"\r\n" for x in headers)
    hl = b"Host: t\r\n" if host else b""
    return method + b" " + path + b" " + version + b"\r\n" + hl + h + b"\r\n" + body


def framing(L):
    """Content-Length and Transfer-Encoding."""
    P = L.post
    return [
        Case("good_get", req(b"GET", L.get), [200], close=False),
        Case("good_get_http10", req(b"GET", L.get, version=b"HTTP/1.0", host=False), [200], close=True),
        Case("good_post_cl", req(b"POST", P, [b"Content-Length: 5"], b"hello"), [405], close=False),
        Case("cl_leading_zeros", req(b"POST", P, [b"Content-Length: 005"], b"hello"), [405], close=False),
        Case("cl_zero_on_get", req(b"GET", L.get, [b"Content-Length: 0"]), [200], close=False),
        Case("cl_repeated_same", req(b"POST", P, [b"Content-Length: 5", b"Content-Length: 5"], b"hello"), [400], close=True, code="content_length"),
        Case("cl_conflicting", req(b"POST", P, [b"Content-Length: 5", b"Content-Length: 6"], b"hello!"), [400], close=True, code="content_length"),
        Case("cl_list", req(b"POST", P, [b"Content-Length: 5, 5"], b"hello"), [400], close=True, code="content_length"),
        Case("cl_plus", req(b"POST", P, [b"Content-Length: +5"], b"hello"), [400], close=True, code="content_length"),
        Case("cl_negative", req(b"POST", P, [b"Content-Length: -1"]), [400], close=True, code="content_length"),
        Case("cl_hex", req(b"POST", P, [b"Content-Length: 0x5"], b"hello"), [400], close=True, code="content_length"),
        Case("cl_inner_space", req(b"POST", P, [b"Content-Length: 5 5"], b"hello"), [400], close=True, code="content_length"),
        Case("cl_empty", req(b"POST", P, [b"Content-Length:"]), [400], close=True, code="content_length"),
        Case("cl_overflow", req(b"POST", P, [b"Content-Length: 99999999999999999999999"]), [400], close=True, code="content_length"),
        Case("cl_with_te", req(b"POST", P, [b"Content-Length: 5", b"Transfer-Encoding: chunked"], b"0\r\n\r\n"), [400], close=True, code="cl_and_te"),
        Case("te_with_cl", req(b"POST", P, [b"Transfer-Encoding: chunked", b"Content-Length: 5"], b"0\r\n\r\n"), [400], close=True, code="cl_and_te"),
        Case("te_xchunked", req(b"POST", P, [b"Transfer-Encoding: xchunked"], b"5\r\nhello\r\n0\r\n\r\n"), [501], close=True, code="transfer_encoding"),
        Case("te_gzip_chunked", req(b"POST", P, [b"Transfer-Encoding: gzip, chunked"], b"0\r\n\r\n"), [501], close=True, code="transfer_encoding"),
        Case("te_chunked_gzip", req(b"POST", P, [b"Transfer-Encoding: chunked, gzip"], b"0\r\n\r\n"), [501], close=True, code="transfer_encoding"),
        Case("te_identity", req(b"POST", P, [b"Transfer-Encoding: identity"], b"hello"), [501], close=True, code="transfer_encoding"),
        Case("te_repeated", req(b"POST", P, [b"Transfer-Encoding: chunked", b"Transfer-Encoding: chunked"], b"0\r\n\r\n"), [501], close=True, code="transfer_encoding"),
        Case("te_on_http10", req(b"POST", P, [b"Transfer-Encoding: chunked"], b"0\r\n\r\n", version=b"HTTP/1.0", host=False), [501], close=True, code="transfer_encoding"),
        Case("te_chunked_ok", req(b"POST", P, [b"Transfer-Encoding: chunked"], b"5\r\nhello\r\n0\r\n\r\n"), [405], close=False),
        Case("te_chunked_mixed_case", req(b"POST", P, [b"Transfer-Encoding: ChUnKeD"], b"5\r\nhello\r\n0\r\n\r\n"), [405], close=False),
        # evhttp 2.1 cannot parse chunk extensions (it answers 413 HTML)
        Case("te_chunked_ext", req(b"POST", P, [b"Transfer-Encoding: chunked"], b"5;a=b\r\nhello\r\n0\r\n\r\n"), [400], close=True, code="chunked_body"),
        Case("te_chunked_trailer", req(b"POST", P, [b"Transfer-Encoding: chunked"], b"5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"), [400], close=True, code="chunked_body"),
        Case("chunk_size_bad", req(b"POST", P, [b"Transfer-Encoding: chunked"], b"zz\r\nhello\r\n0\r\n\r\n"), [400], close=True, code="chunked_body"),
        Case("chunk_size_negative", req(b"POST", P, [b"Transfer-Encoding: chunked"], b"-5\r\nhello\r\n0\r\n\r\n"), [400], close=True, code="chunked_body"),
    ]


def limits(L):
    """Declared bodies over the route's limit, 100-continue, long heads."""
    P, N = L.post_limited, L.limit
    return [
        Case("cl_over_limit_no_body_sent", req(b"POST", P, [b"Content-Length: %d" % (N + 1)]), [413], close=True, text=True),
        Case("cl_huge_no_body_sent", req(b"POST", P, [b"Content-Length: 1000000000000000"]), [413], close=True, text=True),
        Case("cl_over_limit_body_follows", req(b"POST", P, [b"Content-Length: %d" % (N + 1)], b"x" * 1000), [413], close=True, text=True),
        Case("expect_100_within_limit", req(b"POST", L.post, [b"Content-Length: 5", b"Expect: 100-continue"]), [405], close=False, cont=True, body=b"hello"),
        Case("expect_100_over_limit", req(b"POST", P, [b"Content-Length: %d" % (N + 1), b"Expect: 100-continue"]), [413], close=True, cont=False, text=True),
        Case("expect_other", req(b"POST", L.post, [b"Content-Length: 5", b"Expect: 200-ok"], b"hello"), [417], close=True, code="expect"),
        Case("expect_repeated", req(b"POST", L.post, [b"Content-Length: 5", b"Expect: 100-continue", b"Expect: 100-continue"], b"hello"), [417], close=True, code="expect"),
        Case("chunked_over_limit", req(b"POST", P, [b"Transfer-Encoding: chunked"], (b"%x\r\n" % (N + 1)) + b"x" * (N + 1) + b"\r\n0\r\n\r\n"), [413], close=True, text=True),
        # the 413 as soon as the body passes the limit, not at its end: a
        # chunk declared 4 N long with N + 1 of its bytes sent, or small
        # chunks past N, and never the last chunk (held whole, the
        # answer would never come)
        Case("chunked_over_limit_unfinished", req(b"POST", P, [b"Transfer-Encoding: chunked"], (b"%x\r\n" % (4 * N)) + b"x" * (N + 1)), [413], close=True, text=True),
        Case("chunked_small_chunks_over_limit_unfinished", req(b"POST", P, [b"Transfer-Encoding: chunked"], (b"400\r\n" + b"y" * 1024 + b"\r\n") * (N // 1024 + 1)), [413], close=True, text=True),
        Case("head_over_16k", req(b"GET", L.get, [b"X-Pad-%d: %s" % (i, b"p" * 100) for i in range(170)]), [431], close=True, code="head_too_large"),
        Case("one_header_over_16k", req(b"GET", L.get, [b"X-Big: " + b"b" * 17000]), [431], close=True, code="head_too_large"),
        Case("many_small_headers_ok", req(b"GET", L.get, [b"X-%d: 1" % i for i in range(300)]), [200], close=False),
        Case("request_line_over_8k", req(b"GET", b"/" + b"a" * 9000), [414], close=True, code="uri_too_long"),
        Case("query_over_8k", req(b"GET", L.get + b"?q=" + b"a" * 9000), [414], close=True, code="uri_too_long"),
    ]


def headers(L):
    """Header syntax: colons, folds, controls, line ends, Host."""
    G = L.get
    return [
        Case("space_before_colon_cl", req(b"POST", L.post, [b"Content-Length : 5"], b"hello"), [400], close=True, code="header_name"),
        Case("tab_before_colon", req(b"GET", G, [b"X-A\t: 1"]), [400], close=True, code="header_name"),
        Case("space_before_colon_te", req(b"POST", L.post, [b"Transfer-Encoding : chunked"], b"0\r\n\r\n"), [400], close=True, code="header_name"),
        Case("space_in_name", req(b"GET", G, [b"X A: 1"]), [400], close=True, code="header_name"),
        Case("empty_name", req(b"GET", G, [b": 1"]), [400], close=True, code="header_name"),
        Case("no_colon", req(b"GET", G, [b"NoColonHere"]), [400], close=True, code="header_name"),
        Case("underscore_name_ok", req(b"GET", G, [b"X_Y: 1"]), [200], close=False),
        Case("obs_fold_space", req(b"GET", G, [b"X-A: 1", b" continued"]), [400], close=True, code="obs_fold"),
        Case("obs_fold_tab", req(b"GET", G, [b"X-A: 1", b"\tcontinued"]), [400], close=True, code="obs_fold"),
        Case("ws_before_first_header", b"GET " + G + b" HTTP/1.1\r\n Host: t\r\n\r\n", [400], close=True, code="obs_fold"),
        Case("nul_in_value", req(b"GET", G, [b"X-A: a\x00b"]), [400], close=True, code="control_char"),
        Case("nul_in_name", req(b"GET", G, [b"X-\x00A: 1"]), [400], close=True, code="control_char"),
        Case("soh_in_value", req(b"GET", G, [b"X-A: a\x01b"]), [400], close=True, code="control_char"),
        Case("vt_in_value", req(b"GET", G, [b"X-A: a\x0bb"]), [400], close=True, code="control_char"),
        Case("del_in_value", req(b"GET", G, [b"X-A: a\x7fb"]), [400], close=True, code="control_char"),
        Case("esc_in_value", req(b"GET", G, [b"X-A: \x1b[31mred"]), [400], close=True, code="control_char"),
        Case("bare_cr_in_value", req(b"GET", G, [b"X-A: a\rb"]), [400], close=True, code="control_char"),
        Case("tab_in_value_ok", req(b"GET", G, [b"X-A:\ta\tb"]), [200], close=False),
        Case("obs_text_in_value_ok", req(b"GET", G, [b"X-A: caf\xc3\xa9 \xff"]), [200], close=False),
        Case("bare_lf_everywhere", b"GET " + G + b" HTTP/1.1\nHost: t\n\n", [400], close=True, code="bare_lf"),
        Case("bare_lf_one_header", b"GET " + G + b" HTTP/1.1\r\nHost: t\nX-A: 1\r\n\r\n", [400], close=True, code="bare_lf"),
        Case("bare_lf_final", b"GET " + G + b" HTTP/1.1\r\nHost: t\r\n\n", [400], close=True, code="bare_lf"),
        Case("bare_lf_request_line", b"GET " + G + b" HTTP/1.1\nHost: t\r\n\r\n", [400], close=True, code="bare_lf"),
        Case("no_host_http11", req(b"GET", G, host=False), [400], close=True, code="host"),
        Case("two_hosts", req(b"GET", G, [b"Host: u"]), [400], close=True, code="host"),
        Case("no_host_http10_ok", req(b"GET", G, version=b"HTTP/1.0", host=False), [200], close=True),
        Case("two_hosts_http10", req(b"GET", G, [b"Host: u"], version=b"HTTP/1.0"), [400], close=True, code="host"),
        Case("forged_standin_header", req(b"GET", G, [b"X-Keybridge-Refused: 00000000000000000000000000000000 7 0 0"]), [200], close=False),
        Case("leading_crlf_ok", b"\r\n\r\n" + req(b"GET", G), [200], close=False),
    ]


def lines(L):
    """Request lines: methods, versions, targets, shapes."""
    G = L.get
    return [
        Case("method_brew", req(b"BREW", G), [501], close=True, code="method"),
        Case("method_lowercase", req(b"get", G), [501], close=True, code="method"),
        Case("method_trace", req(b"TRACE", G), [501], close=True, code="method"),
        Case("method_connect", b"CONNECT t:443 HTTP/1.1\r\nHost: t\r\n\r\n", [501], close=True, code="method"),
        Case("method_propfind", req(b"PROPFIND", G), [501], close=True, code="method"),
        Case("method_bad_chars", req(b"G@T", G), [400], close=True, code="request_line"),
        Case("method_long", req(b"A" * 200, G), [501], close=True, code="method"),
        Case("method_delete_405", req(b"DELETE", G), [405], close=False),
        Case("method_put_405", req(b"PUT", G, [b"Content-Length: 1"], b"x"), [405], close=False),
        Case("leading_space", b" " + req(b"GET", G), [400], close=True, code="request_line"),
        Case("double_space", b"GET  " + G + b" HTTP/1.1\r\nHost: t\r\n\r\n", [400], close=True, code="request_line"),
        Case("tab_separator", b"GET\t" + G + b" HTTP/1.1\r\nHost: t\r\n\r\n", [400], close=True, code="request_line"),
        Case("trailing_space", b"GET " + G + b" HTTP/1.1 \r\nHost: t\r\n\r\n", [400], close=True, code="request_line"),
        Case("space_in_target", b"GET " + G + b"?a b HTTP/1.1\r\nHost: t\r\n\r\n", [400], close=True, code="request_line"),
        Case("space_in_ocsp_target_text", b"GET /ocsp/a b HTTP/1.1\r\nHost: t\r\n\r\n", [400], close=True, **({"text": True} if L.name == "http" else {"code": "request_line"})),
        Case("http09_no_version", b"GET " + G + b"\r\n\r\n", [400], close=True, code="request_line"),
        Case("version_2_0", req(b"GET", G, version=b"HTTP/2.0"), [505], close=True, code="version"),
        Case("version_1_2", req(b"GET", G, version=b"HTTP/1.2"), [505], close=True, code="version"),
        Case("version_0_9", req(b"GET", G, version=b"HTTP/0.9"), [505], close=True, code="version"),
        Case("version_3_digits", req(b"GET", G, version=b"HTTP/1.10"), [400], close=True, code="request_line"),
        Case("version_lowercase", req(b"GET", G, version=b"http/1.1"), [400], close=True, code="request_line"),
        Case("version_junk", req(b"GET", G, version=b"HTTP/1.1x"), [400], close=True, code="request_line"),
        Case("h2_preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", [501], close=True, code="method"),
        Case("target_asterisk", req(b"OPTIONS", b"*"), [400], close=True, code="target"),
        Case("target_ftp", req(b"GET", b"ftp://t" + G), [400], close=True, code="target"),
        Case("target_relative", req(b"GET", b"api"), [400], close=True, code="target"),
        # evhttp 2.1 takes an absolute-form target for an unknown host as
        # a proxy request: answered, then the connection is closed
        Case("target_absolute_http_ok", req(b"GET", b"http://t" + G), [200], close=True),
        Case("target_absolute_https_ok", req(b"GET", b"https://t" + G), [200], close=True),
        Case("target_bad_authority", req(b"GET", b"http://[::1" + G), [400], close=True, code="target"),
    ]


def payloads(L):
    """Paths that are not UTF-8, long ones, controls: never a 5xx.  The API
    listener answers an unknown path 404 with a JSON error that echoes the
    path escaped; the plain listener's "/" is OCSP's GET route, which
    answers its own 404 text, or 200 with an OCSP malformedRequest for a
    path that decodes as base64."""
    if L.name == "https":
        nf, b64 = dict(close=False, code="not_found"), [404]
    else:
        nf, b64 = dict(close=False, json=False), [200]
    return [
        Case("path_ff", req(b"GET", b"/\xff"), [404], **nf),
        Case("path_ff_fe", req(b"GET", b"/\xff\xfe\xfd"), [404], **nf),
        Case("path_cut_c3", req(b"GET", b"/a\xc3"), [404], **nf),
        Case("path_overlong_slash", req(b"GET", b"/\xc0\xaf"), [404], **nf),
        Case("path_surrogate", req(b"GET", b"/\xed\xa0\x80"), [404], **nf),
        Case("path_above_10ffff", req(b"GET", b"/\xf4\x90\x80\x80"), [404], **nf),
        Case("path_utf8_ok", req(b"GET", b"/caf\xc3\xa9"), [404], **nf),
        Case("path_300_e_acute", req(b"GET", b"/" + b"\xc3\xa9" * 300), [404], **nf),
        Case("path_odd_cut_3byte", req(b"GET", b"/x" + b"\xe2\x82\xac" * 150), [404], **nf),
        Case("path_4byte_run", req(b"GET", b"/" + b"\xf0\x9f\x98\x80" * 100), [404], **nf),
        Case("path_percent_ff", req(b"GET", b"/%ff%fe"), b64, **nf),
        Case("path_percent_00", req(b"GET", b"/%00"), b64, **nf),
        Case("path_quote_backslash", req(b"GET", b'/"\\"'), [404], **nf),
        Case("path_7k", req(b"GET", b"/" + b"a" * 7000), b64, **nf),
        Case("path_ctl", req(b"GET", b"/\x01"), [400], close=True, code="control_char"),
        Case("path_nul", req(b"GET", b"/\x00"), [400], close=True, code="control_char"),
        Case("path_del", req(b"GET", b"/\x7f"), [400], close=True, code="control_char"),
        # the API checks its query strictly (400), /metrics takes none
        Case("query_non_utf8", req(b"GET", L.get + b"?\xff=\xfe"), [400] if L.name == "https" else [200], close=False),
        Case("binary_hello_bytes", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 40, [400], close=True, code="control_char"),
    ]


def smuggling(L):
    """CL.TE, TE.CL, TE.TE and pipelines: one answer per request the
    bridge saw, never a second request cut out of a body."""
    G, P = L.get, L.post
    inner = req(b"GET", b"/smuggled")
    good = req(b"GET", G)
    return [
        Case("cl_te_smuggle", req(b"POST", P, [b"Content-Length: %d" % (5 + len(inner)), b"Transfer-Encoding: chunked"], b"0\r\n\r\n" + inner), [400], close=True, code="cl_and_te"),
        Case("te_cl_smuggle", req(b"POST", P, [b"Transfer-Encoding: chunked", b"Content-Length: 4"], b"%x\r\n" % len(inner) + inner + b"\r\n0\r\n\r\n"), [400], close=True, code="cl_and_te"),
        Case("te_te_second_junk", req(b"POST", P, [b"Transfer-Encoding: chunked", b"Transfer-encoding: x"], b"0\r\n\r\n" + inner), [501], close=True, code="transfer_encoding"),
        Case("te_te_space_name", req(b"POST", P, [b"Transfer-Encoding : chunked", b"Content-Length: 4"], b"0\r\n\r\n" + inner), [400], close=True, code="header_name"),
        Case("te_tab_value_with_cl", req(b"POST", P, [b"Transfer-Encoding:\tchunked", b"Content-Length: 4"], b"0\r\n\r\n"), [400], close=True, code="cl_and_te"),
        Case("te_vt_value", req(b"POST", P, [b"Transfer-Encoding:\x0bchunked"], b"0\r\n\r\n"), [400], close=True, code="control_char"),
        Case("te_folded_value", req(b"POST", P, [b"Transfer-Encoding:", b" chunked"], b"0\r\n\r\n"), [400], close=True, code="obs_fold"),
        Case("te_quoted", req(b"POST", P, [b'Transfer-Encoding: "chunked"'], b"0\r\n\r\n"), [501], close=True, code="transfer_encoding"),
        Case("xchunked_then_request", req(b"POST", P, [b"Transfer-Encoding: xchunked"], b"0\r\n\r\n" + inner), [501], close=True, code="transfer_encoding"),
        Case("dup_cl_then_request", req(b"POST", P, [b"Content-Length: 0", b"Content-Length: %d" % len(inner)], inner), [400], close=True, code="content_length"),
        Case("space_cl_then_request", req(b"POST", P, [b"Content-Length : %d" % len(inner)], inner), [400], close=True, code="header_name"),
        Case("pipelined_two_good", good + good, [200, 200], close=False),
        Case("pipelined_ten_good", good * 10, [200] * 10, close=False),
        Case("pipelined_good_then_bad", good + b"GET " + G + b" HTTP/1.1\nHost: t\n\n", [200, 400], close=True, code="bare_lf"),
        Case("pipelined_good_bad_good", good + req(b"GET", G, [b"X : 1"]) + good, [200, 400], close=True, code="header_name"),
        Case("pipelined_bad_then_good", req(b"GET", G, host=False) + good, [400], close=True, code="host"),
        Case("pipelined_cl_body_then_good", req(b"POST", P, [b"Content-Length: 5"], b"hello") + good, [405, 200], close=False),
        Case("pipelined_body_looks_like_request", req(b"POST", P, [b"Content-Length: %d" % len(inner)], inner) + good, [405, 200], close=False),
        Case("pipelined_chunked_then_good", req(b"POST", P, [b"Transfer-Encoding: chunked"], b"5\r\nhello\r\n0\r\n\r\n") + good, [405, 200], close=False),
        Case("pipelined_chunk_body_looks_like_request", req(b"POST", P, [b"Transfer-Encoding: chunked"], b"%x\r\n" % len(inner) + inner + b"\r\n0\r\n\r\n") + good, [405, 200], close=False),
        Case("pipelined_good_then_bad_cl", good + req(b"POST", P, [b"Content-Length: 1", b"Content-Length: 2"], b"xx"), [200, 400], close=True, code="content_length"),
        Case("pipelined_good_then_over_limit", good + req(b"POST", L.post_limited, [b"Content-Length: %d" % (L.limit + 1)]), [200, 413], close=True, text=True),
        Case("api_body_over_limit_json", req(b"POST", L.post, [b"Content-Length: %d" % (L.post_max + 1)]), [413], close=True, code="body_too_large"),
        Case("head_in_three_pieces", [good[:7], good[7:20], good[20:]], [200], close=False),
        Case("head_byte_by_byte", [good[i:i + 1] for i in range(len(good))], [200], close=False, pause=0.002),
        Case("bare_lf_in_second_piece", [b"GET " + G + b" HTTP/1.1\r\n", b"Host: t\n\r\n"], [400], close=True, code="bare_lf"),
        Case("body_in_pieces", [req(b"POST", P, [b"Content-Length: 10"], b"hel"), b"lo", b"world"], [405], close=False),
        Case("chunks_in_pieces", [req(b"POST", P, [b"Transfer-Encoding: chunked"], b"5\r\nhe"), b"llo\r\n0\r", b"\n\r\n"], [405], close=False),
    ]


class Side(Listener):
    def __init__(self, name, port, cafile, get, post, post_limited, limit, query_refused, post_max, probe):
        Listener.__init__(self, name, "127.0.0.1", port, cafile)
        self.post_max, self.probe = post_max, probe
        self.get, self.post = get, post
        self.post_limited, self.limit = post_limited, limit
        self.query_refused = query_refused


def main():
    https_port, http_port, cafile = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    sides = [
        Side("https", https_port, cafile, b"/api/v1/status", b"/api/v1/status",
             b"/.well-known/est/simpleenroll", EST_MAX_BODY, 1, API_MAX_BODY,
             "/api/v1/status"),
        Side("http", http_port, None, b"/metrics", b"/metrics",
             b"/ocsp", OCSPR_MAX_BODY, 0, OCSPR_MAX_BODY,
             "/ca/issuing.der"),
    ]
    # With a fourth argument (comma-separated case names) only those run,
    # once each, at the start of a wall-clock second: the bridge logs at
    # most 10 refusals a second per listener, so a test that looks for a
    # case's log line runs it again alone, in a second of its own.
    only = set(sys.argv[4].split(",")) if len(sys.argv) > 4 else None
    if only:
        time.sleep(1.05 - time.time() % 1.0)
    failed = []
    for group in (framing, limits, headers, lines, payloads, smuggling):
        for L in sides:
            cases = [c for c in group(L) if only is None or c.name in only]
            failed += [(L.name, n, w) for n, w in run_cases(L, cases)]
        if only:
            continue
        for L in sides:
            ms = probe(L, L.probe) * 1000
            print("probe  %-6s after %-10s %.1f ms" % (L.name, group.__name__, ms))
    summary()
    print("%d cases, %d failed" % (len(RESULTS), len(failed)))
    for f in failed:
        print("FAILED: %s %s: %s" % f)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
