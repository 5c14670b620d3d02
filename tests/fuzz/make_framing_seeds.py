#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_framing, tests/fuzz/seeds/fuzz_framing/: one raw HTTP/1.x byte
stream per request-framing shape (CRLF line ends unless the shape is about them). The output is
committed; rerun only to change the seed set:
    python3 tests/fuzz/make_framing_seeds.py
Every attack seed carries SMUGGLED after its body: a request that one reading of the framing
takes as the next request and another does not. The harness appends its own marker request."""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "seeds", "fuzz_framing")

SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"
N = str(len(SMUGGLED)).encode()  # a Content-Length that swallows SMUGGLED


def post(headers, body=b"", version=b"1.1", host=True):
    """POST / with the given header lines (bytes, without their line ends), then body."""
    lines = [b"POST / HTTP/" + version]
    if host:
        lines.append(b"Host: a")
    lines += headers
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def chunked(body):
    """A chunked POST whose body is given as it goes on the wire, then SMUGGLED."""
    return post([b"Transfer-Encoding: chunked"], body) + SMUGGLED


SEEDS = {
    # Several Content-Length fields (RFC 9112 6.3 item 5): refused, even when identical.
    "cl_cl_differing": post([b"Content-Length: 2", b"Content-Length: " + N], b"ab" + SMUGGLED),
    "cl_cl_identical": post([b"Content-Length: 2", b"Content-Length: 2"], b"ab" + SMUGGLED),
    "cl_list": post([b"Content-Length: 2, 2"], b"ab" + SMUGGLED),
    # Content-Length values that are not 1*DIGIT, or too long.
    "cl_plus": post([b"Content-Length: +2"], b"ab" + SMUGGLED),
    "cl_hex": post([b"Content-Length: 0x2"], b"ab" + SMUGGLED),
    "cl_negative": post([b"Content-Length: -1"], b"a" + SMUGGLED),
    "cl_20_digits": post([b"Content-Length: 00000000000000000002"], b"ab" + SMUGGLED),
    # CL.TE and TE.CL: both framings in one head, either order.
    "cl_te": post([b"Content-Length: " + N, b"Transfer-Encoding: chunked"], b"0\r\n\r\n" + SMUGGLED),
    "te_cl": post([b"Transfer-Encoding: chunked", b"Content-Length: 3"], b"0\r\n\r\n" + SMUGGLED),
    "te_cl_tab": post([b"Transfer-Encoding:\tchunked", b"Content-Length: 3"], b"0\r\n\r\n" + SMUGGLED),
    "te_cl_upper": post([b"Transfer-Encoding: CHUNKED", b"Content-Length: 3"], b"0\r\n\r\n" + SMUGGLED),
    "te_cl_trailing_space": post([b"Transfer-Encoding: chunked ", b"Content-Length: 3"],
                                 b"0\r\n\r\n" + SMUGGLED),
    "te_cl_xchunked": post([b"Transfer-Encoding: xchunked", b"Content-Length: 3"],
                           b"0\r\n\r\n" + SMUGGLED),
    # Transfer-Encoding alone, in the shapes proxies disagree on.
    "te_tab": chunked(b"0\r\n\r\n").replace(b"Encoding: chunked", b"Encoding:\tchunked"),
    "te_upper": chunked(b"0\r\n\r\n").replace(b"chunked", b"CHUNKED"),
    "te_trailing_space": chunked(b"0\r\n\r\n").replace(b"chunked", b"chunked "),
    "te_xchunked": post([b"Transfer-Encoding: xchunked"], b"0\r\n\r\n" + SMUGGLED),
    "te_gzip_chunked": post([b"Transfer-Encoding: gzip, chunked"], b"0\r\n\r\n" + SMUGGLED),
    "te_te_chunked_last": post([b"Transfer-Encoding: gzip", b"Transfer-Encoding: chunked"],
                               b"0\r\n\r\n" + SMUGGLED),
    "te_te_chunked_first": post([b"Transfer-Encoding: chunked", b"Transfer-Encoding: identity"],
                                b"0\r\n\r\n" + SMUGGLED),
    "te_http10": post([b"Transfer-Encoding: chunked", b"Connection: keep-alive"], b"0\r\n\r\n" + SMUGGLED,
                      version=b"1.0", host=False),
    # Chunk sizes and chunk lines a lenient decoder reads one way and a strict one refuses.
    "chunk_0x2": chunked(b"0x2\r\n\r\n"),
    "chunk_0x2_data": chunked(b"0x2\r\nab\r\n0\r\n\r\n"),
    "chunk_negative": chunked(b"-2\r\nab\r\n0\r\n\r\n"),
    "chunk_space_before": chunked(b" 2\r\nab\r\n0\r\n\r\n"),
    "chunk_17_digits": chunked(b"fffffffffffffffff\r\nab\r\n0\r\n\r\n"),
    "chunk_ext": chunked(b"2;ext\r\nab\r\n0\r\n\r\n"),
    "chunk_bws_ext": chunked(b"2 ;ext=\"v\"\r\nab\r\n0\r\n\r\n"),
    "chunk_junk": chunked(b"2 junk\r\nab\r\n0\r\n\r\n"),
    "chunk_data_too_long": chunked(b"2\r\nabcd\r\n0\r\n\r\n"),
    "chunk_bare_lf": chunked(b"2\nab\n0\n\n"),
    "chunk_trailer": chunked(b"2\r\nab\r\n0\r\nX-Trailer: 1\r\n\r\n"),
    # Field syntax h2o or the adapter refuses.
    "space_before_colon": post([b"Content-Length : " + N], SMUGGLED),
    "tab_before_colon": post([b"Content-Length\t: " + N], SMUGGLED),
    "obs_fold_cl": post([b"Content-Length: 0", b" " + N], SMUGGLED),
    "obs_fold_te": post([b"Transfer-Encoding:", b" chunked"], b"0\r\n\r\n" + SMUGGLED),
    "bare_cr": post([b"X-A: b\rContent-Length: " + N], SMUGGLED),
    "nul_in_value": post([b"X-A: b\x00c", b"Content-Length: " + N], SMUGGLED),
    "two_content_type": post([b"Content-Type: application/json", b"Content-Type: text/plain",
                              b"Content-Length: 2"], b"{}" + SMUGGLED),
    "no_host": post([b"Content-Length: 2"], b"{}" + SMUGGLED, host=False),
    # Legitimate forms: every request must reach the handler with the same body.
    "ok_one_cl": post([b"Content-Type: application/json", b"Content-Length: 13"], b'{"user":"al"}'),
    "ok_cl_zero": post([b"Content-Length: 0"]),
    "ok_chunked": post([b"Transfer-Encoding: chunked"], b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
    "ok_three_gets": b"".join(b"GET /p%d?q=%d HTTP/1.1\r\nHost: a\r\n\r\n" % (i, i) for i in range(3)),
    "ok_post_then_get": post([b"Content-Length: 5"], b"hello") + b"GET /me HTTP/1.1\r\nHost: a\r\n\r\n",
    "ok_http10_keepalive": post([b"Connection: keep-alive", b"Content-Length: 2"], b"hi", version=b"1.0",
                                host=False) + b"GET /next HTTP/1.0\r\n\r\n",
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in sorted(SEEDS.items()):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print("%d seeds in %s" % (len(SEEDS), OUT))


if __name__ == "__main__":
    main()
