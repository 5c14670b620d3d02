/* Pure parsers of the OAuth 2.0 inputs that are not JSON (RFC 6749): bodies of
 * application/x-www-form-urlencoded (the WHATWG rules: '&'-separated name=value pairs,
 * '+' is a space, %XX a byte) and the client_secret_basic Authorization header (section
 * 2.3.1: Basic over the form-urlencoded id and secret). No I/O, no allocation; sizes are
 * bounded by the caller's buffers. tests/serverunit/test_form.c checks them. */
#ifndef JWTD_SERVER_FORM_H
#define JWTD_SERVER_FORM_H

#include <stdbool.h>
#include <stddef.h>

/* application/x-www-form-urlencoded, case-insensitive, optionally with parameters. */
bool srv_is_form_content_type(const char *value, size_t len);

/* Percent-decodes in[0..len) ('+' as space) into out (cap bytes, NUL-terminated); the decoded
 * length in *out_len. false for a '%' not followed by two hex digits, or when the result
 * does not fit (cap - 1 bytes). */
bool srv_form_decode(const char *in, size_t len, char *out, size_t cap, size_t *out_len);

/* Whether body is a well-formed form: every pair decodes, every name is non-empty and
 * given once (RFC 6749 section 3.2: parameters must not repeat), at most SRV_FORM_MAX_PAIRS
 * pairs. Empty pairs ("a=1&&b=2") are skipped, as browsers do. */
#define SRV_FORM_MAX_PAIRS 32
#define SRV_FORM_MAX_NAME 64
bool srv_form_valid(const char *body, size_t len);

/* The decoded value of name in a body that srv_form_valid accepted: 1 found (into out, cap
 * bytes, *out_len without the NUL), 0 absent, -1 too long for out. A value with a NUL byte in
 * it counts as too long: no parameter of ours may hold one. */
int srv_form_get(const char *body, size_t len, const char *name, char *out, size_t cap,
                 size_t *out_len);

/* "Basic B64" (scheme case-insensitive, one or more spaces) with B64 the standard base64 of
 * ID ":" SECRET, each form-urlencoded: 1 and both decoded (NUL-terminated, lengths in
 * *id_len and *secret_len), 0 when the scheme is not Basic, -1 when it is Basic but malformed
 * or too long for the buffers. */
int srv_parse_basic(const char *value, size_t len, char *id, size_t id_cap, size_t *id_len,
                    char *secret, size_t secret_cap, size_t *secret_len);

#endif /* JWTD_SERVER_FORM_H */
