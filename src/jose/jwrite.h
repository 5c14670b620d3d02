/* jwrite: a compact JSON writer into a caller's buffer, for the JSON of the hot paths (the
 * claims of jwtd_sign, the server's GET /me body). It writes only what needs no escaping:
 * strings (and member names) of printable ASCII but '"' and '\\', integers, true, false, null,
 * and arrays and objects of those up to JOSE_JWRITE_MAX_DEPTH levels. For those it writes
 * exactly the bytes of json_dumpb(v, JSON_COMPACT | JSON_PRESERVE_ORDER) (jansson 2.14); for
 * anything else it reports "not handled" and the caller uses jansson, so output never
 * depends on which writer ran (tests/unit/test_jwrite.c, tests/fuzz/fuzz_jwrite.c).
 * The one exception to the house rule against hand-written JSON (issue 11: jansson's
 * json_dumpb was half of an HS256 sign; docs/BENCHMARKS.md, "HS256 sign: the claims writer").
 * Internal to the project: libjwtd uses it, and src/server includes it (docs/ARCHITECTURE.md). */
#ifndef JWTD_JOSE_JWRITE_H
#define JWTD_JOSE_JWRITE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Byte classes of JSON string contents, shared by this writer and by jread (jwrite.c). */
#define JOSE_JSON_WRITE 1u /* written between quotes as it is */
#define JOSE_JSON_READ 2u  /* read in a string as it is (JOSE_JSON_WRITE's bytes and DEL) */
extern const unsigned char jose_json_plain[256];

/* Nesting written: the outer object is level 1, so a claim may hold an object holding an
 * array holding scalars. Deeper values are not handled. */
#define JOSE_JWRITE_MAX_DEPTH 4

/* A writer over buf[cap]. len counts every byte written or that would have been: past cap
 * nothing more is stored, and len > cap tells the caller how much room the whole needs. */
typedef struct jose_jw {
    char *buf;
    size_t cap;
    size_t len;
    bool ok; /* false once a value was not handled: the output is then to be discarded */
} jose_jw;

void jose_jw_init(jose_jw *w, char *buf, size_t cap);
/* n bytes as they are. */
void jose_jw_put(jose_jw *w, const char *s, size_t n);
/* s[0..n) as a quoted JSON string; not handled (w->ok false) unless every byte is plain. */
void jose_jw_string(jose_jw *w, const char *s, size_t n);
/* The same for a NUL-terminated s, in one pass. */
void jose_jw_cstring(jose_jw *w, const char *s);
/* value in decimal (as jansson's "%lld"). */
void jose_jw_int(jose_jw *w, int64_t value);
/* Whether the writer handled everything and it all fits in cap. */
static inline bool jose_jw_done(const jose_jw *w) { return w->ok && w->len <= w->cap; }

/* obj (an object) as json_dumpb(obj, buf, cap, JSON_COMPACT | JSON_PRESERVE_ORDER) writes it:
 * returns the length it needs (buf holds it only if that is <= cap), or 0 when obj holds
 * something this writer does not handle (or is not an object): call json_dumpb then. */
size_t jose_jwrite_object(const json_t *obj, char *buf, size_t cap);

#endif
