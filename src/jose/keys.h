/* Declarations shared only by the key modules of libjwtd: key.c (lifecycle, policy), jwk.c
 * (JWK in and out, thumbprints), pem.c and keyset.c. Everything else sees keys through
 * jwtd.h and the struct in internal.h. */
#ifndef JWTD_JOSE_KEYS_H
#define JWTD_JOSE_KEYS_H

#include "internal.h"

/* The longest "x", "y" or "d" of any curve below: a P-521 coordinate (Ed448 keys are 57). */
#define JOSE_CURVE_MAX_LEN 66u

/* A curve JOSE names: the EC curves of RFC 7518 §6.2.1.1 and the EdDSA curves of RFC 8037. */
typedef struct jose_curve {
    int nid;          /* NID_X9_62_prime256v1 ... ; EVP_PKEY_ED25519 / EVP_PKEY_ED448 */
    jwtd_kty kty;     /* JWTD_KTY_EC or JWTD_KTY_OKP */
    const char *name; /* JWK "crv": "P-256", "Ed25519" ... */
    const char *ossl; /* OpenSSL group name (EC) or key type name (OKP) */
    size_t len;       /* bytes of one coordinate (EC) or of a raw key (OKP), also of "d" */
    unsigned bits;    /* field size, what jwtd_key_bits reports */
} jose_curve;

/* NULL when JOSE does not name the curve for that key type. */
const jose_curve *jose_curve_by_name(const char *crv, size_t len, jwtd_kty kty);
const jose_curve *jose_curve_by_nid(int nid);

/* One JWK object (already parsed) into a key: the same checks as jwtd_key_from_jwk. */
jwtd_err jose_jwk_from_json(const json_t *jwk, unsigned flags, jwtd_key **out);
/* The public JWK of an asymmetric key as a JSON object (caller decrefs). */
jwtd_err jose_jwk_public_json(const jwtd_key *key, json_t **out);

/* True when a JWK says it is for something other than JWS (use other than "sig",
 * key_ops without sign/verify, a non-JWS alg such as A128KW or RSA-OAEP). A JWKS skips
 * such keys (RFC 7517 §5: ignore what cannot be used); a lone JWK is refused. */
bool jose_jwk_declared_non_sig(const json_t *jwk);

#endif /* JWTD_JOSE_KEYS_H */
