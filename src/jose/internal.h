/* Internal structures and helpers shared by the modules of libjwtd (src/jose).
 * Nothing here is installed; public callers see only include/jwtd/jwtd.h.
 * Invariant: a jwtd_key / jwtd_keyset is never modified after its constructor returns,
 * so concurrent readers need no lock; only the reference count is atomic. */
#ifndef JWTD_JOSE_INTERNAL_H
#define JWTD_JOSE_INTERNAL_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stdatomic.h>

#include "jread.h"
#include "jwtd/jwtd.h"

/* ---- Algorithm table (alg.c) ---- */
typedef enum jose_family {
    JOSE_FAM_HMAC,
    JOSE_FAM_RSA,
    JOSE_FAM_PSS,
    JOSE_FAM_ECDSA,
    JOSE_FAM_EDDSA
} jose_family;

typedef struct jose_alg_info {
    const char *name; /* "HS256" */
    jose_family family;
    const char *md_name; /* "SHA256"; NULL for EdDSA */
    size_t hash_len;     /* digest bytes (HMAC minimum secret length, PSS salt length) */
    int curve_nid;       /* ECDSA only: NID_X9_62_prime256v1 ... */
    size_t ec_coord_len; /* ECDSA only: 32, 48, 66 */
    int hmac_index;      /* HMAC only: 0 SHA-256, 1 SHA-384, 2 SHA-512 */
} jose_alg_info;

/* NULL for JWTD_ALG_UNKNOWN or out of range. */
const jose_alg_info *jose_alg_info_get(jwtd_alg alg);

/* ---- Keys (key.c, jwk.c, pem.c) ---- */
#define JOSE_HMAC_VARIANTS 3
#define JOSE_ED25519_PUBLIC_BYTES 32 /* crypto_sign_ed25519_PUBLICKEYBYTES */
#define JOSE_ED25519_SECRET_BYTES 64 /* crypto_sign_ed25519_SECRETKEYBYTES: seed || public */

struct jwtd_key {
    atomic_int refs;
    jwtd_kty kty;
    jwtd_alg alg; /* the JWK's "alg" or JWTD_ALG_UNKNOWN */
    char *kid;    /* owned; NULL if none */
    bool is_private;
    bool weak_allowed; /* built with JWTD_KEY_ALLOW_WEAK */
    unsigned bits;
    int curve_nid;         /* EC: NID of the curve; OKP: EVP_PKEY_ED25519 / EVP_PKEY_ED448 */
    const char *curve;     /* static: "P-256", "Ed25519" ...; NULL for oct/RSA */
    EVP_PKEY *pkey;        /* RSA/EC/OKP */
    unsigned char *secret; /* oct: owned, cleansed on free */
    size_t secret_len;
    /* oct: one pre-keyed HMAC context per hash (SHA-256/384/512), built by the constructor,
     * only ever duplicated afterwards (EVP_MAC_CTX_dup reads it), never used directly. */
    EVP_MAC_CTX *hmac[JOSE_HMAC_VARIANTS];
    /* Ed25519 only: sign and verify run in libsodium (about twice as fast as OpenSSL 3.0,
     * and stricter: docs/LIBRARY.md), OpenSSL keeps parsing and exporting. ed_pk is the raw
     * public key; ed_sk, for a private key, is libsodium's seed || public key in
     * sodium_malloc'ed memory, read-only after the constructor, wiped by sodium_free. */
    bool ed25519;
    unsigned char ed_pk[JOSE_ED25519_PUBLIC_BYTES];
    unsigned char *ed_sk;
    /* true when kid came from the JWK or the caller (jose_key_set_kid); false for a
     * computed thumbprint. A single key with no explicit kid matches any token kid. */
    bool kid_explicit;
};

struct jwtd_keyset {
    atomic_int refs;
    size_t n;
    jwtd_key **keys; /* each holds one reference */
};

/* Build an oct key from raw secret bytes (copies them); applies the ALLOW_WEAK policy. */
jwtd_err jose_key_from_secret_bytes(const unsigned char *secret, size_t len, unsigned flags,
                                    jwtd_key **out);
/* Wrap an EVP_PKEY (takes ownership on success and on failure); applies the RSA size
 * policy, fills kty/bits/curve, kid = thumbprint. */
jwtd_err jose_key_from_pkey(EVP_PKEY *pkey, bool is_private, unsigned flags, jwtd_key **out);
/* Replace kid (copies; NULL clears). Only for constructors, before the key is shared. */
jwtd_err jose_key_set_kid(jwtd_key *key, const char *kid, size_t len);

/* ---- Validation (validation.c) ---- */
typedef struct jose_strlist {
    char **items;
    size_t n;
} jose_strlist;

struct jwtd_validation {
    uint64_t id;           /* changes on every modification (header cache key) */
    uint32_t allowed_algs; /* bit (1u << jwtd_alg) */
    int64_t leeway;
    bool require_exp;
    bool allow_unencoded;
    size_t max_token_bytes;
    size_t max_json_depth;
    int64_t fixed_now; /* 0: real clock */
    char *typ;         /* normalised: lower case, no "application/" */
    jose_strlist audiences, issuers, subjects, required, crit;
};

bool jose_strlist_has(const jose_strlist *l, const char *s, size_t len);
/* Lower-case typ without "application/" (malloc'ed); NULL on no memory. */
char *jose_typ_normalise(const char *typ, size_t len);
/* True for the header names RFC 7515 registers (which crit may not list). */
bool jose_header_is_registered(const char *name);
/* Seconds since the epoch per the validation's clock. */
int64_t jose_validation_now(const jwtd_validation *v);
/* The claims rules (types of the registered claims, exp, nbf, required claims, iss, sub,
 * aud), run only after the signature verified, on the claims as jread checked them. */
jwtd_err jose_validation_check_claims(const jwtd_validation *v, const jread_doc *claims,
                                      jwtd_error *err);

/* ---- Protected headers (jws.c) and the caller's cache of them (cache.c) ---- */
/* What the header rules extracted, from a header read by jread. json is the header's JSON
 * text; strs is a copy of it (json_len + 1 bytes) in which every top-level string and every
 * string item of a top-level array is unescaped in place and NUL-terminated
 * (jose_unescape_strings); kid and typ point into strs. The holder keeps both alive. */
typedef struct jose_header {
    jwtd_alg alg;
    bool b64;
    const char *kid; /* NULL if absent */
    size_t kid_len;
    const char *typ; /* NULL if absent */
    size_t typ_len;
    const char *json;
    size_t json_len;
    const char *strs;
} jose_header;

/* Fills strs (a copy of d's bytes, NUL-terminated) as jose_header.strs describes. */
void jose_unescape_strings(const jread_doc *d, char *strs);
/* The C string, in strs, of the string v (a top-level member or an item of a top-level array)
 * of the document d that strs was made from. */
static inline const char *jose_strs_at(const jread_doc *d, const char *strs, const jread_value *v)
{
    return strs + (v->json - d->buf) + 1;
}

/* Every function below accepts c == NULL (no cache: nothing found, nothing kept). */
/* A checked header whose base64url bytes and Validation identity match: true and *out
 * filled, pointing into the cache (valid until the next jose_hdr_cache_put on c). */
bool jose_hdr_cache_get(const jwtd_cache *c, uint64_t vid, const char *b64, size_t len,
                        jose_header *out);
/* Remember a header that passed every rule under Validation vid (copies its bytes). Headers
 * longer than the slot size are not kept. */
void jose_hdr_cache_put(jwtd_cache *c, uint64_t vid, const char *b64, size_t len,
                        const jose_header *h);

#define JOSE_SIGN_CACHE_MAX_KEY 512 /* longer keys (big extra_json) are not cached */
#define JOSE_SIGN_CACHE_MAX_B64 768
/* The base64url header for signing stored under key (an unambiguous encoding of every
 * input of the header, built by the signer), or NULL. The pointer is valid until the next
 * jose_sign_cache_put on c. */
const char *jose_sign_cache_get(const jwtd_cache *c, const char *key, size_t key_len,
                                size_t *b64_len);
/* Remember b64 under key (copies both; silently skips what does not fit a slot). */
void jose_sign_cache_put(jwtd_cache *c, const char *key, size_t key_len, const char *b64,
                         size_t b64_len);
/* The signature context the cache keeps for (key, alg, op) (sig.c's to use: the cache is one
 * thread's), or NULL. */
void *jose_ctx_cache_get(const jwtd_cache *c, const jwtd_key *key, jwtd_alg alg, int op);
/* Keep ctx for (key, alg, op), freed later with ctx_free, holding a reference to key (so the
 * key lives as long as the slot). Evicts the oldest slot. false (ctx not taken) for c NULL. */
bool jose_ctx_cache_put(jwtd_cache *c, const jwtd_key *key, jwtd_alg alg, int op, void *ctx,
                        void (*ctx_free)(void *));

/* ---- Verified tokens (token.c) ---- */
/* One allocation: the struct, then the payload (NUL-terminated), then a copy of it in which
 * every top-level string and every string item of a top-level array is unescaped in place and
 * NUL-terminated (strs), which the getters hand out; then the same two for the protected
 * header (hjson, hstrs). Claims and header are read in place with jread; a caller who wants
 * them as JSON gets jansson's reading of them, built on demand. */
struct jwtd_token {
    jwtd_alg alg;
    jwtd_key *key;    /* the key that verified (one reference held) */
    bool has_claims;  /* false for a raw JWS whose payload is not a JSON object */
    jread_doc claims; /* claims.buf == payload */
    const char *strs;
    unsigned char *payload;
    size_t payload_len;
    const char *hjson; /* the header, a JSON object jread accepts */
    size_t hjson_len;
    const char *hstrs;
};

/* A token taking a reference to key, copying the header (its JSON text, and its strs or NULL
 * to make them here) and the payload; claims may be NULL (then the payload is read as claims
 * if it is a JSON object). NULL when out of memory or when the header is not a JSON object. */
jwtd_token *jose_token_new(jwtd_alg alg, jwtd_key *key, const char *hjson, size_t hjson_len,
                           const char *hstrs, const unsigned char *payload, size_t payload_len,
                           const jread_doc *claims, size_t max_depth);

/* ---- base64url (b64.c), canonical only: no padding, no '+' '/', zero trailing bits ---- */
/* Decoded length for an encoded length (upper bound, exact for canonical input). */
size_t jose_b64url_decoded_len(size_t enc_len);
size_t jose_b64url_encoded_len(size_t bin_len); /* without NUL */
/* 0 on success, -1 if not canonical base64url or if it does not fit. */
int jose_b64url_decode(const char *in, size_t in_len, unsigned char *out, size_t cap,
                       size_t *out_len);
/* The same contract for public bytes (token segments): faster, not constant-time. */
int jose_b64url_decode_public(const char *in, size_t in_len, unsigned char *out, size_t cap,
                              size_t *out_len);
unsigned char *jose_b64url_decode_public_alloc(const char *in, size_t in_len, size_t *out_len);
/* Writes encoded_len + NUL; out must hold jose_b64url_encoded_len(len) + 1. */
void jose_b64url_encode(const unsigned char *in, size_t len, char *out);
/* The same output for public bytes (tokens): faster, not constant-time. */
void jose_b64url_encode_public(const unsigned char *in, size_t len, char *out);
/* Allocating variants: NULL on bad input / no memory. */
unsigned char *jose_b64url_decode_alloc(const char *in, size_t in_len, size_t *out_len);
char *jose_b64url_encode_alloc(const unsigned char *in, size_t len);

/* ---- JSON (json.c) ---- */
/* Strict parse: duplicates rejected, UTF-8 checked (jansson), depth <= max_depth.
 * NULL on any failure. */
json_t *jose_json_parse(const char *buf, size_t len, size_t max_depth);
/* Compact serialization, sorted as inserted; NULL on failure. Caller frees. */
char *jose_json_dump(const json_t *v);

/* ---- Claims (claims.c) ---- */
/* The claims as jwtd_claims_json writes them, into buf without NUL: returns the length they
 * need (buf holds them only if that is <= cap), 0 on failure. */
size_t jose_claims_dumpb(const jwtd_claims *c, char *buf, size_t cap);

/* ---- Errors (error.c) ---- */
/* Fill err (may be NULL); claim may be NULL. */
void jose_set_error(jwtd_error *err, jwtd_err kind, const char *claim, const char *reason);
/* Fill err and return kind (inline, so analysers see the return value is kind). */
static inline jwtd_err jose_fail(jwtd_error *err, jwtd_err kind, const char *claim,
                                 const char *reason)
{
    jose_set_error(err, kind, claim, reason);
    return kind;
}

/* ---- Signatures (sig.c): the primitives behind sign and verify ---- */
/* Verify sig over msg with key for alg. Returns JWTD_OK or JWTD_ERR_INVALID_SIGNATURE
 * (wrong length, out-of-range ECDSA r/s and bad signatures alike), JWTD_ERR_CRYPTO. The
 * caller has already checked jwtd_key_fits_alg. */
jwtd_err jose_sig_verify(const jwtd_key *key, jwtd_alg alg, const unsigned char *msg,
                         size_t msg_len, const unsigned char *sig, size_t sig_len);
/* Sign msg; *sig_out is malloc'ed (raw r||s for ECDSA). */
jwtd_err jose_sig_sign(const jwtd_key *key, jwtd_alg alg, const unsigned char *msg, size_t msg_len,
                       unsigned char **sig_out, size_t *sig_len);
/* The same two with the caller's cache (NULL: exactly the two above): HMAC, RSA, PSS and ECDSA
 * reuse the contexts kept there for the key instead of building one per call. */
jwtd_err jose_sig_verify_cached(jwtd_cache *cache, const jwtd_key *key, jwtd_alg alg,
                                const unsigned char *msg, size_t msg_len, const unsigned char *sig,
                                size_t sig_len);
jwtd_err jose_sig_sign_cached(jwtd_cache *cache, const jwtd_key *key, jwtd_alg alg,
                              const unsigned char *msg, size_t msg_len, unsigned char **sig_out,
                              size_t *sig_len);

#endif /* JWTD_JOSE_INTERNAL_H */
