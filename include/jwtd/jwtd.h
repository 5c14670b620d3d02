/* libjwtd: JSON Web Signatures and JSON Web Tokens for C.
 *
 * Keys are parsed once into immutable objects that any number of threads may use at once.
 * Verification is safe by default: the caller pins the algorithms (the token's `alg` is
 * never trusted), `exp` is required, and every claim check runs only after the signature
 * verified. Every call that can fail returns a jwtd_err (constructors give the object
 * through an out parameter); only getters and predicates that cannot fail return their value
 * directly. None aborts. Strings returned through `char **` are owned by the caller and
 * released with jwtd_free(). */
#ifndef JWTD_JWTD_H
#define JWTD_JWTD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jwtd/version.h" /* JWTD_VERSION "X.Y.Z", generated from the CMake project version */

#ifdef __cplusplus
extern "C" {
#endif

/* Symbols of the shared library; everything else in it stays hidden. */
#if defined(__GNUC__)
#define JWTD_API __attribute__((visibility("default")))
#else
#define JWTD_API
#endif

/* ---- Limits (named once; the Validation may lower or raise the first two) ---- */
#define JWTD_DEFAULT_MAX_TOKEN_BYTES 8192u /* whole compact token */
#define JWTD_DEFAULT_MAX_JSON_DEPTH 16u    /* header and claims nesting */
#define JWTD_DEFAULT_LEEWAY_SECONDS 60
#define JWTD_MAX_KEY_BYTES (1u << 20) /* PEM / JWK / JWKS / secret input */
#define JWTD_MAX_JWKS_KEYS 256u
#define JWTD_MAX_KID_BYTES 256u
#define JWTD_MAX_CLAIM_NAME 64u     /* jwtd_error.claim, including NUL */
#define JWTD_THUMBPRINT_B64_LEN 43u /* base64url SHA-256, no padding */

/* ---- Errors: one enum, stable names (jwtd_err_name) ---- */
typedef enum jwtd_err {
    JWTD_OK = 0,
    JWTD_ERR_INVALID_TOKEN,      /* malformed: segments, base64url, JSON, claim types */
    JWTD_ERR_INVALID_SIGNATURE,  /* signature did not verify with any eligible key */
    JWTD_ERR_EXPIRED_SIGNATURE,  /* exp + leeway <= now */
    JWTD_ERR_IMMATURE_SIGNATURE, /* nbf - leeway > now */
    JWTD_ERR_INVALID_AUDIENCE,
    JWTD_ERR_INVALID_ISSUER,
    JWTD_ERR_INVALID_SUBJECT,
    JWTD_ERR_MISSING_REQUIRED_CLAIM, /* jwtd_error.claim names it */
    JWTD_ERR_INVALID_ALGORITHM,      /* not allowed, unknown, `none`, or unfit for the key */
    JWTD_ERR_INVALID_KEY_FORMAT,     /* unparseable or refused key (too short, RSA < 2048) */
    JWTD_ERR_KEY_NOT_FOUND,          /* no key with the token's kid / no compatible key */
    JWTD_ERR_INVALID_TYPE,           /* header typ differs from the expected one */
    JWTD_ERR_UNSUPPORTED_CRITICAL,   /* crit names an extension we do not understand */
    JWTD_ERR_TOKEN_TOO_LARGE,
    JWTD_ERR_INVALID_ARGUMENT, /* API misuse: NULL, bad option */
    JWTD_ERR_NO_MEMORY,
    JWTD_ERR_CRYPTO, /* the crypto library failed unexpectedly */
    JWTD_ERR_COUNT
} jwtd_err;

/* Stable name ("ExpiredSignature"), never NULL. */
JWTD_API const char *jwtd_err_name(jwtd_err err);

/* Detail of a failed call: the kind, which claim (for MissingRequiredClaim and claim
 * errors; "" otherwise) and a static human reason. Never contains key or token bytes. */
typedef struct jwtd_error {
    jwtd_err kind;
    char claim[JWTD_MAX_CLAIM_NAME];
    const char *reason;
} jwtd_error;

/* ---- Algorithms ---- */
typedef enum jwtd_alg {
    JWTD_ALG_UNKNOWN = 0, /* includes "none": it never verifies and never signs */
    JWTD_ALG_HS256,
    JWTD_ALG_HS384,
    JWTD_ALG_HS512,
    JWTD_ALG_RS256,
    JWTD_ALG_RS384,
    JWTD_ALG_RS512,
    JWTD_ALG_PS256,
    JWTD_ALG_PS384,
    JWTD_ALG_PS512,
    JWTD_ALG_ES256,
    JWTD_ALG_ES384,
    JWTD_ALG_ES512,
    JWTD_ALG_EDDSA, /* Ed25519 or Ed448, as the key says */
    JWTD_ALG_COUNT
} jwtd_alg;

/* "HS256" ... "EdDSA"; "unknown" for JWTD_ALG_UNKNOWN. */
JWTD_API const char *jwtd_alg_name(jwtd_alg alg);
/* Exact, case-sensitive match; JWTD_ALG_UNKNOWN for anything else ("none" included). */
JWTD_API jwtd_alg jwtd_alg_from_name(const char *name, size_t len);

/* ---- Keys ---- */
typedef enum jwtd_kty {
    JWTD_KTY_OCT = 1, /* HMAC secret */
    JWTD_KTY_RSA,
    JWTD_KTY_EC, /* P-256, P-384, P-521 */
    JWTD_KTY_OKP /* Ed25519, Ed448 */
} jwtd_kty;

/* Flags for key constructors. */
#define JWTD_KEY_ALLOW_WEAK 0x1u /* accept HMAC secrets shorter than the hash and RSA < 2048 */

/* An immutable key, reference counted, safe to share between threads. */
typedef struct jwtd_key jwtd_key;
/* An immutable set of keys (a JWKS, or one key), reference counted, thread-safe. */
typedef struct jwtd_keyset jwtd_keyset;

/* Raw HMAC secret (any bytes). Refused if shorter than 32 bytes unless ALLOW_WEAK; the
 * per-algorithm minimum (hash length) is enforced again at sign/verify time. */
JWTD_API jwtd_err jwtd_key_from_secret(const void *secret, size_t len, unsigned flags,
                                       jwtd_key **out);
/* PEM: SPKI, PKCS#8, PKCS#1 (RSA), SEC1 (EC); public or private. */
JWTD_API jwtd_err jwtd_key_from_pem(const char *pem, size_t len, unsigned flags, jwtd_key **out);
/* One JWK (kty oct, RSA, EC, OKP; public or private). */
JWTD_API jwtd_err jwtd_key_from_jwk(const char *json, size_t len, unsigned flags, jwtd_key **out);
/* Generate a fresh key for alg (RSA 2048 for RS256/PS256, 3072 for the 384 variants,
 * 4096 for the 512 variants; the matching curve for ES256/384/512; Ed25519 for EdDSA; a
 * random secret of the hash length (at least 32 bytes) for HS256/384/512). Its kid is
 * its RFC 7638 thumbprint; its alg is set. */
JWTD_API jwtd_err jwtd_key_generate(jwtd_alg alg, jwtd_key **out);

/* One more reference (the count is atomic; const keys from a key set may be referenced). */
JWTD_API jwtd_key *jwtd_key_ref(const jwtd_key *key);
JWTD_API void jwtd_key_free(jwtd_key *key); /* drops one reference; NULL is fine */

JWTD_API jwtd_kty jwtd_key_kty(const jwtd_key *key);
/* The key's own "alg" (from its JWK or generation) or JWTD_ALG_UNKNOWN. */
JWTD_API jwtd_alg jwtd_key_alg(const jwtd_key *key);
/* The kid: the JWK's "kid", else the RFC 7638 thumbprint for asymmetric keys, else NULL
 * (raw secrets get no implicit kid: it would be a hash of the secret). */
JWTD_API const char *jwtd_key_kid(const jwtd_key *key);
JWTD_API bool jwtd_key_is_private(const jwtd_key *key);
/* Curve name for EC/OKP keys ("P-256", "Ed25519"...), NULL otherwise. */
JWTD_API const char *jwtd_key_curve(const jwtd_key *key);
/* Size in bits: RSA modulus, EC/OKP curve, HMAC secret. */
JWTD_API unsigned jwtd_key_bits(const jwtd_key *key);
/* True when alg can be used with this key (kty, curve, secret length). */
JWTD_API bool jwtd_key_fits_alg(const jwtd_key *key, jwtd_alg alg);
/* A copy of key with its kid replaced (kid may be NULL to remove it). */
JWTD_API jwtd_err jwtd_key_with_kid(const jwtd_key *key, const char *kid, jwtd_key **out);

/* RFC 7638 thumbprint (SHA-256, base64url), NUL-terminated into out. */
JWTD_API jwtd_err jwtd_key_thumbprint(const jwtd_key *key, char out[JWTD_THUMBPRINT_B64_LEN + 1]);
/* Public JWK as compact JSON (kty, members, kid, alg, use "sig"). Refused for oct keys. */
JWTD_API jwtd_err jwtd_key_public_jwk(const jwtd_key *key, char **json_out);
/* Private JWK (includes secret members; handle with care). */
JWTD_API jwtd_err jwtd_key_private_jwk(const jwtd_key *key, char **json_out);
/* PEM export: SPKI for public, PKCS#8 for private. Refused for oct keys. */
JWTD_API jwtd_err jwtd_key_public_pem(const jwtd_key *key, char **pem_out);
JWTD_API jwtd_err jwtd_key_private_pem(const jwtd_key *key, char **pem_out);

/* A JWKS ({"keys":[...]}). Rejects duplicate kids and sets mixing symmetric with
 * asymmetric keys; at most JWTD_MAX_JWKS_KEYS. */
JWTD_API jwtd_err jwtd_keyset_from_jwks(const char *json, size_t len, unsigned flags,
                                        jwtd_keyset **out);
/* Detect the format: JWKS, JWK, PEM, else the bytes as a raw secret. */
JWTD_API jwtd_err jwtd_keyset_parse(const void *data, size_t len, unsigned flags,
                                    jwtd_keyset **out);
/* A set from keys (each gets a reference). Same rules as jwtd_keyset_from_jwks. */
JWTD_API jwtd_err jwtd_keyset_new(jwtd_key *const *keys, size_t n, jwtd_keyset **out);
JWTD_API jwtd_keyset *jwtd_keyset_ref(const jwtd_keyset *set);
JWTD_API void jwtd_keyset_free(jwtd_keyset *set);
JWTD_API size_t jwtd_keyset_count(const jwtd_keyset *set);
JWTD_API const jwtd_key *jwtd_keyset_get(const jwtd_keyset *set, size_t i);
/* The key with this kid, or NULL. */
JWTD_API const jwtd_key *jwtd_keyset_find(const jwtd_keyset *set, const char *kid, size_t kid_len);
/* {"keys":[public JWKs]}; oct keys are left out. */
JWTD_API jwtd_err jwtd_keyset_public_jwks(const jwtd_keyset *set, char **json_out);

/* ---- Validation: what a token must satisfy. Build once, then share (read-only). ---- */
typedef struct jwtd_validation jwtd_validation;

/* Defaults: no algorithm allowed (the caller must pin at least one), exp required,
 * leeway 60 s, nbf checked when present, no aud/iss/sub check, no typ check, crit
 * rejected, b64:false rejected, max token 8 KiB, max JSON depth 16. */
JWTD_API jwtd_err jwtd_validation_new(jwtd_validation **out); /* NoMemory, InvalidArgument */
JWTD_API void jwtd_validation_free(jwtd_validation *v);
JWTD_API jwtd_err jwtd_validation_allow_alg(jwtd_validation *v, jwtd_alg alg);
JWTD_API jwtd_err jwtd_validation_set_leeway(jwtd_validation *v, int64_t seconds);
JWTD_API jwtd_err jwtd_validation_require_exp(jwtd_validation *v, bool required);
/* Each adds one accepted value; with none, the claim is not checked. With audiences
 * set, a token without aud fails (InvalidAudience). */
JWTD_API jwtd_err jwtd_validation_add_audience(jwtd_validation *v, const char *aud);
JWTD_API jwtd_err jwtd_validation_add_issuer(jwtd_validation *v, const char *iss);
JWTD_API jwtd_err jwtd_validation_add_subject(jwtd_validation *v, const char *sub);
JWTD_API jwtd_err jwtd_validation_require_claim(jwtd_validation *v, const char *name);
/* Expected header typ, compared case-insensitively, with or without "application/". */
JWTD_API jwtd_err jwtd_validation_set_typ(jwtd_validation *v, const char *typ);
/* A crit extension the caller understands (e.g. "b64" is added by allow_unencoded). */
JWTD_API jwtd_err jwtd_validation_allow_crit(jwtd_validation *v, const char *name);
/* RFC 7797: accept b64:false (only with crit ["b64"]); for jwtd_jws_verify. */
JWTD_API jwtd_err jwtd_validation_allow_unencoded_payload(jwtd_validation *v, bool allow);
JWTD_API jwtd_err jwtd_validation_set_max_token_bytes(jwtd_validation *v, size_t max);
JWTD_API jwtd_err jwtd_validation_set_max_json_depth(jwtd_validation *v, size_t max);
/* Fixed clock for tests and replay tools; 0 = the real clock. */
JWTD_API jwtd_err jwtd_validation_set_now(jwtd_validation *v, int64_t unix_seconds);

/* ---- Caches: optional, owned by the caller, one per thread ---- */
/* Services verify and sign with the same few protected headers over and over. A cache keeps
 * the last few: verifying, headers that already passed every header rule (keyed by their
 * exact bytes and the Validation they were checked under), skipping their decode and parse;
 * signing, encoded headers (keyed by alg, typ, kid and extra_json), skipping their build and
 * encoding. It also keeps the signature contexts of the last 4 (key, alg, sign or verify) it
 * served (HMAC, RSA, PSS, ECDSA), reused instead of rebuilt per call, each holding a reference
 * to its key: a key the caller frees is released (its material wiped) once its slot is reused
 * or the cache is freed. Results and errors are the same with or without one. A cache is not
 * thread-safe: give each thread its own (HS256, callgrind: 31k instructions a verify with one,
 * 39k without; 40k and 54k a sign). The library itself keeps no cache and no per-thread state
 * (so it may be dlclose'd whenever no call runs): without a cache nothing is remembered
 * between calls. Free it with jwtd_cache_free (from any thread, once no call uses it; tokens
 * verified through it stay valid). */
typedef struct jwtd_cache jwtd_cache;
JWTD_API jwtd_err jwtd_cache_new(jwtd_cache **out);
JWTD_API void jwtd_cache_free(jwtd_cache *cache); /* NULL is fine */

/* ---- Verification ---- */
/* A verified token: header, claims, payload. Immutable; free with jwtd_token_free. */
typedef struct jwtd_token jwtd_token;

/* Compact JWT: strict parse, signature with the caller's algorithms and keys, then the
 * claims (which must be a JSON object). err may be NULL. On failure *out is NULL. */
JWTD_API jwtd_err jwtd_verify(const char *token, size_t len, const jwtd_keyset *keys,
                              const jwtd_validation *v, jwtd_token **out, jwtd_error *err);
/* jwtd_verify with the caller's cache (NULL: none, exactly jwtd_verify). */
JWTD_API jwtd_err jwtd_verify_cached(jwtd_cache *cache, const char *token, size_t len,
                                     const jwtd_keyset *keys, const jwtd_validation *v,
                                     jwtd_token **out, jwtd_error *err);

/* Raw JWS, compact or JSON serialization (flattened or general): signature only; the
 * payload need not be JSON and no claim is checked. General: one verifying signature
 * suffices. For an unencoded payload (b64:false) in compact form pass the detached
 * payload in `payload`; otherwise payload is NULL. */
JWTD_API jwtd_err jwtd_jws_verify(const char *jws, size_t len, const void *payload,
                                  size_t payload_len, const jwtd_keyset *keys,
                                  const jwtd_validation *v, jwtd_token **out, jwtd_error *err);

JWTD_API void jwtd_token_free(jwtd_token *t);

/* The algorithm that verified and the kid of the key that verified it (NULL if none). */
JWTD_API jwtd_alg jwtd_token_alg(const jwtd_token *t);
JWTD_API const char *jwtd_token_kid(const jwtd_token *t);
/* Decoded payload bytes (claims JSON for a JWT). Valid while t lives. */
JWTD_API const char *jwtd_token_payload(const jwtd_token *t, size_t *len);
/* Header / claims as compact JSON text (caller frees). */
JWTD_API jwtd_err jwtd_token_header_json(const jwtd_token *t, char **json_out);
JWTD_API jwtd_err jwtd_token_claims_json(const jwtd_token *t, char **json_out);

/* Typed claim getters (after verification). Strings stay valid while t lives.
 * A missing claim is JWTD_ERR_MISSING_REQUIRED_CLAIM; a claim of another type is
 * JWTD_ERR_INVALID_TOKEN. */
JWTD_API jwtd_err jwtd_token_claim_string(const jwtd_token *t, const char *name, const char **out);
JWTD_API jwtd_err jwtd_token_claim_int(const jwtd_token *t, const char *name, int64_t *out);
JWTD_API jwtd_err jwtd_token_claim_bool(const jwtd_token *t, const char *name, bool *out);
/* Fills up to max pointers; *n gets the array length (a single string counts as one). */
JWTD_API jwtd_err jwtd_token_claim_strings(const jwtd_token *t, const char *name, const char **out,
                                           size_t max, size_t *n);
/* A header member as a string (typ, kid, cty, ...). */
JWTD_API jwtd_err jwtd_token_header_string(const jwtd_token *t, const char *name, const char **out);
/* True if claim name is the string value or an array holding that string (e.g. "roles"
 * holding "admin"; which claims carry roles is the application's convention). */
JWTD_API bool jwtd_token_claim_has_string(const jwtd_token *t, const char *name, const char *value);

/* INSECURE: decode the protected header of a compact token without verifying anything,
 * to choose a key. Copies alg/kid into caller buffers (NUL-terminated, truncated to fit
 * is an error: InvalidToken). Never base a security decision on these values. */
JWTD_API jwtd_err jwtd_insecure_peek_header(const char *token, size_t len, char *alg,
                                            size_t alg_cap, char *kid, size_t kid_cap);
/* INSECURE: header and claims JSON of a compact token, NOT verified (for `jwtd token decode`). */
JWTD_API jwtd_err jwtd_insecure_decode(const char *token, size_t len, char **header_json,
                                       char **claims_json);

/* ---- Signing ---- */
/* Claims builder; set_* replace a member of the same name. */
typedef struct jwtd_claims jwtd_claims;
JWTD_API jwtd_err jwtd_claims_new(jwtd_claims **out); /* NoMemory, InvalidArgument */
/* Start from a JSON object (rejects duplicates, non-objects). */
JWTD_API jwtd_err jwtd_claims_from_json(const char *json, size_t len, jwtd_claims **out);
JWTD_API void jwtd_claims_free(jwtd_claims *c);
JWTD_API jwtd_err jwtd_claims_set_string(jwtd_claims *c, const char *name, const char *value);
JWTD_API jwtd_err jwtd_claims_set_int(jwtd_claims *c, const char *name, int64_t value);
JWTD_API jwtd_err jwtd_claims_set_bool(jwtd_claims *c, const char *name, bool value);
JWTD_API jwtd_err jwtd_claims_set_strings(jwtd_claims *c, const char *name,
                                          const char *const *values, size_t n);
/* Any JSON value (parsed strictly). */
JWTD_API jwtd_err jwtd_claims_set_json(jwtd_claims *c, const char *name, const char *json);
/* iat = now; exp = now + seconds; nbf = now + seconds; jti = 128 random bits, base64url. */
JWTD_API jwtd_err jwtd_claims_set_iat_now(jwtd_claims *c);
JWTD_API jwtd_err jwtd_claims_set_exp_in(jwtd_claims *c, int64_t seconds);
JWTD_API jwtd_err jwtd_claims_set_nbf_in(jwtd_claims *c, int64_t seconds);
JWTD_API jwtd_err jwtd_claims_set_jti_random(jwtd_claims *c);
/* Compact JSON of the claims (caller frees). */
JWTD_API jwtd_err jwtd_claims_json(const jwtd_claims *c, char **json_out);

/* Protected header options. NULL typ/kid: no typ; the key's kid (if any). */
typedef struct jwtd_header {
    const char *typ;
    const char *kid;
    const char *extra_json; /* optional JSON object merged in; may not set alg/kid/typ */
} jwtd_header;

/* Compact JWS over the claims. The key must be private or a secret (a public key is
 * InvalidKeyFormat) and must fit alg (else InvalidAlgorithm). */
JWTD_API jwtd_err jwtd_sign(const jwtd_key *key, jwtd_alg alg, const jwtd_header *hdr,
                            const jwtd_claims *claims, char **token_out);
/* jwtd_sign with the caller's cache (NULL: none, exactly jwtd_sign). */
JWTD_API jwtd_err jwtd_sign_cached(jwtd_cache *cache, const jwtd_key *key, jwtd_alg alg,
                                   const jwtd_header *hdr, const jwtd_claims *claims,
                                   char **token_out);
/* Compact JWS over arbitrary payload bytes (the payload need not be JSON). */
JWTD_API jwtd_err jwtd_sign_payload(const jwtd_key *key, jwtd_alg alg, const jwtd_header *hdr,
                                    const void *payload, size_t len, char **token_out);

/* Release a string returned by this library. */
JWTD_API void jwtd_free(void *p);

#ifdef __cplusplus
}
#endif
#endif /* JWTD_JWTD_H */
