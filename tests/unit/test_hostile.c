/* Hostile tokens against jwtd_verify: one table, each row an attack (or its valid control)
 * and the exact error kind it must produce. Tokens are crafted at test time and, unless the
 * attack is the signature itself, validly signed over exactly the bytes presented, so that
 * a verifier that is lenient anywhere would accept them and the row would fail. */
#include "testutil.h"

#include <openssl/obj_mac.h>

/* exp an hour after the fixed clock; most rows only differ from a valid token by one thing. */
#define EXP_OK "1700003600"
#define CLAIMS_OK                                                                                  \
    "{\"sub\":\"alice\",\"iss\":\"https://issuer.example\",\"aud\":\"api\",\"exp\":" EXP_OK "}"
#define HDR_HS "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define BIG_LIMIT (4u << 20) /* raised max_token_bytes for rows that test something else */

enum signer_id {
    SG_NONE = 0,  /* no signature at all: "h.p." */
    SG_HS,        /* HS256 with the main secret */
    SG_HS384,     /* HS384 with the main secret */
    SG_HS_BADSIG, /* HS256 with the main secret, then one bit flipped */
    SG_HS_OTHER,  /* HS256 with an unrelated secret */
    SG_K1,        /* HS256 with the secret of kid "k1" */
    SG_K1_HS512,  /* HS512 with the (32-byte) secret of kid "k1" */
    SG_RSA,       /* RS256 */
    SG_RSA_PS256, /* PS256 with the same RSA key */
    SG_EC256,
    SG_EC384,          /* ES384 with the P-384 key */
    SG_EC384_AS_ES256, /* the P-384 key, hashing with SHA-256 like ES256 would */
    SG_ED,
    SG_ATTACKER, /* ES256 with a key the verifier has never seen */
    SG_COUNT
};

enum keyset_id { KS_HS = 0, KS_JWKS, KS_K1, KS_RSA, KS_EC256, KS_EC384, KS_ED, KS_COUNT };

static struct fixture {
    unsigned char hs_secret[64], other_secret[64], k1_secret[32], k2_secret[32];
    jwtd_key *rsa, *ec256, *ec384, *ed, *attacker;
    char *rsa_pub_pem, *ec256_pub_pem, *attacker_jwk;
    tu_signer signers[SG_COUNT];
    jwtd_keyset *sets[KS_COUNT];
} fx;

static void add_to_set(enum keyset_id id, jwtd_key *key)
{
    fx.sets[id] = tu_set1(key);
    jwtd_key_free(key);
}

static jwtd_key *secret_key(const unsigned char *s, size_t n, const char *kid)
{
    jwtd_key *k = NULL, *named = NULL;

    assert_int_equal(jwtd_key_from_secret(s, n, 0, &k), JWTD_OK);
    if (kid == NULL)
        return k;
    assert_int_equal(jwtd_key_with_kid(k, kid, &named), JWTD_OK);
    jwtd_key_free(k);
    return named;
}

static int setup(void **state)
{
    jwtd_key *pair[2];
    char *pem = NULL;

    (void)state;
    assert_true(sodium_init() >= 0);
    randombytes_buf(fx.hs_secret, sizeof fx.hs_secret);
    randombytes_buf(fx.other_secret, sizeof fx.other_secret);
    randombytes_buf(fx.k1_secret, sizeof fx.k1_secret);
    randombytes_buf(fx.k2_secret, sizeof fx.k2_secret);

    assert_int_equal(jwtd_key_generate(JWTD_ALG_RS256, &fx.rsa), JWTD_OK);
    assert_int_equal(jwtd_key_generate(JWTD_ALG_ES256, &fx.ec256), JWTD_OK);
    assert_int_equal(jwtd_key_generate(JWTD_ALG_ES384, &fx.ec384), JWTD_OK);
    assert_int_equal(jwtd_key_generate(JWTD_ALG_EDDSA, &fx.ed), JWTD_OK);
    assert_int_equal(jwtd_key_generate(JWTD_ALG_ES256, &fx.attacker), JWTD_OK);
    assert_int_equal(jwtd_key_public_pem(fx.rsa, &fx.rsa_pub_pem), JWTD_OK);
    assert_int_equal(jwtd_key_public_pem(fx.ec256, &pem), JWTD_OK);
    fx.ec256_pub_pem = pem;
    assert_int_equal(jwtd_key_public_jwk(fx.attacker, &fx.attacker_jwk), JWTD_OK);

    fx.signers[SG_HS] = (tu_signer){JWTD_ALG_HS256, NULL, fx.hs_secret, sizeof fx.hs_secret};
    fx.signers[SG_HS384] = (tu_signer){JWTD_ALG_HS384, NULL, fx.hs_secret, sizeof fx.hs_secret};
    fx.signers[SG_HS_BADSIG] = fx.signers[SG_HS];
    fx.signers[SG_HS_OTHER] =
        (tu_signer){JWTD_ALG_HS256, NULL, fx.other_secret, sizeof fx.other_secret};
    fx.signers[SG_K1] = (tu_signer){JWTD_ALG_HS256, NULL, fx.k1_secret, sizeof fx.k1_secret};
    fx.signers[SG_K1_HS512] = (tu_signer){JWTD_ALG_HS512, NULL, fx.k1_secret, sizeof fx.k1_secret};
    fx.signers[SG_RSA] = (tu_signer){JWTD_ALG_RS256, tu_pkey_of(fx.rsa), NULL, 0};
    fx.signers[SG_RSA_PS256] = fx.signers[SG_RSA];
    fx.signers[SG_RSA_PS256].alg = JWTD_ALG_PS256;
    fx.signers[SG_EC256] = (tu_signer){JWTD_ALG_ES256, tu_pkey_of(fx.ec256), NULL, 0};
    fx.signers[SG_EC384] = (tu_signer){JWTD_ALG_ES384, tu_pkey_of(fx.ec384), NULL, 0};
    fx.signers[SG_EC384_AS_ES256] = fx.signers[SG_EC384];
    fx.signers[SG_EC384_AS_ES256].alg = JWTD_ALG_ES256;
    fx.signers[SG_ED] = (tu_signer){JWTD_ALG_EDDSA, tu_pkey_of(fx.ed), NULL, 0};
    fx.signers[SG_ATTACKER] = (tu_signer){JWTD_ALG_ES256, tu_pkey_of(fx.attacker), NULL, 0};

    add_to_set(KS_HS, secret_key(fx.hs_secret, sizeof fx.hs_secret, NULL));
    pair[0] = secret_key(fx.k1_secret, sizeof fx.k1_secret, "k1");
    pair[1] = secret_key(fx.k2_secret, sizeof fx.k2_secret, "k2");
    assert_int_equal(jwtd_keyset_new(pair, 2, &fx.sets[KS_JWKS]), JWTD_OK);
    fx.sets[KS_K1] = tu_set1(pair[0]);
    jwtd_key_free(pair[0]);
    jwtd_key_free(pair[1]);
    add_to_set(KS_RSA, tu_public_key(fx.rsa, 0));
    add_to_set(KS_EC256, tu_public_key(fx.ec256, 0));
    add_to_set(KS_EC384, tu_public_key(fx.ec384, 0));
    add_to_set(KS_ED, tu_public_key(fx.ed, 0));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < KS_COUNT; i++)
        jwtd_keyset_free(fx.sets[i]);
    EVP_PKEY_free(fx.signers[SG_RSA].pkey);
    EVP_PKEY_free(fx.signers[SG_EC256].pkey);
    EVP_PKEY_free(fx.signers[SG_EC384].pkey);
    EVP_PKEY_free(fx.signers[SG_ED].pkey);
    EVP_PKEY_free(fx.signers[SG_ATTACKER].pkey);
    jwtd_key_free(fx.rsa);
    jwtd_key_free(fx.ec256);
    jwtd_key_free(fx.ec384);
    jwtd_key_free(fx.ed);
    jwtd_key_free(fx.attacker);
    jwtd_free(fx.rsa_pub_pem);
    jwtd_free(fx.ec256_pub_pem);
    jwtd_free(fx.attacker_jwk);
    return 0;
}

/* ---- token makers shared by the builders ---- */

/* Header and claims JSON signed by a fixture signer (SG_NONE: empty signature segment). */
static char *make(const char *header, const char *claims, enum signer_id sg)
{
    char *tok, *h, *p;
    size_t dot;

    if (sg != SG_NONE && sg != SG_HS_BADSIG)
        return tu_jwt(header, claims, &fx.signers[sg]);
    h = tu_b64url_str(header);
    p = tu_b64url_str(claims);
    if (sg == SG_NONE) {
        tok = tu_printf("%s.%s.", h, p);
    } else {
        /* Flip the low bit of the first signature character: still canonical base64url,
         * same length, different MAC. */
        tok = tu_jws_segments(h, p, &fx.signers[SG_HS]);
        dot = strlen(h) + 1 + strlen(p) + 1;
        tok[dot] = tok[dot] == 'A' ? 'B' : 'A';
    }
    free(h);
    free(p);
    return tok;
}

/* Index of the n-th '.' (0-based) in tok. */
static size_t dot_pos(const char *tok, int n)
{
    const char *p = tok;

    for (int i = 0; i <= n; i++) {
        p = strchr(i == 0 ? p : p + 1, '.');
        assert_non_null(p);
    }
    return (size_t)(p - tok);
}

/* Prefix JSON with spaces so that `marker` starts on a base64 quantum (offset % 3 == 0)
 * and suffix spaces so the whole is a multiple of 3 (no padding in standard base64). */
static char *align_json(const char *json, const char *marker)
{
    size_t off = (size_t)(strstr(json, marker) - json);
    size_t pre = (3 - off % 3) % 3;
    size_t post = (3 - (pre + strlen(json)) % 3) % 3;

    return tu_printf("%*s%s%*s", (int)pre, "", json, (int)post, "");
}

/* JSON padded with trailing spaces until its length is 1 mod 3: its base64 then ends with
 * a 2-character partial quantum (4 unused bits) or, padded, with "==". */
static char *len1mod3(const char *json)
{
    size_t n = strlen(json);

    return tu_printf("%s%*s", json, (int)((4 - n % 3) % 3), "");
}

/* Set the lowest unused bit of the last character of a base64url segment. */
static void set_trailing_bit(char *seg, size_t len)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const char *at = strchr(alphabet, seg[len - 1]);

    assert_int_not_equal(len % 4, 0); /* a full quantum has no unused bits */
    assert_non_null(at);
    assert_int_equal((at - alphabet) & 1, 0);
    seg[len - 1] = alphabet[(at - alphabet) | 1];
}

/* A valid HS256 token whose signature segment contains character c ('-' or '_'); tries
 * different jti values until it does (each try has a ~50% chance). */
static char *token_with_sig_char(char c)
{
    for (int i = 0; i < 200; i++) {
        char *claims =
            tu_printf("{\"sub\":\"alice\",\"aud\":\"api\",\"exp\":%s,\"jti\":\"%d\"}", EXP_OK, i);
        char *tok = make(HDR_HS, claims, SG_HS);

        free(claims);
        if (strchr(tok + dot_pos(tok, 1) + 1, c) != NULL)
            return tok;
        free(tok);
    }
    fail_msg("no signature with '%c' in 200 tries", c);
    return NULL;
}

/* ---- builders: each returns a malloc'ed token; arg selects a variant ---- */

/* alg none in several spellings, without (arg & 1 == 0) or with an HS256 signature. */
static char *build_none(int arg)
{
    static const char *const spellings[] = {"none", "None", "NONE", "nOnE"};
    char *hdr = tu_printf("{\"alg\":\"%s\",\"typ\":\"JWT\"}", spellings[arg >> 1]);
    char *tok = make(hdr, CLAIMS_OK, (arg & 1) ? SG_HS : SG_NONE);

    free(hdr);
    return tok;
}

/* The verifier's public key PEM, used by the attacker as an HS256 secret.
 * arg bit 0: header carries the real key's kid; bit 1: EC key instead of RSA. */
static char *build_pem_as_secret(int arg)
{
    const jwtd_key *key = (arg & 2) ? fx.ec256 : fx.rsa;
    const char *pem = (arg & 2) ? fx.ec256_pub_pem : fx.rsa_pub_pem;
    tu_signer s = {JWTD_ALG_HS256, NULL, (const unsigned char *)pem, strlen(pem)};
    char *hdr = (arg & 1) ? tu_printf("{\"alg\":\"HS256\",\"kid\":\"%s\"}", jwtd_key_kid(key))
                          : tu_printf("{\"alg\":\"HS256\"}");
    char *tok = tu_jwt(hdr, CLAIMS_OK, &s);

    free(hdr);
    return tok;
}

/* ECDSA signatures with r or s out of [1, n-1]. arg = mode + 10 for ES384.
 * mode 0: r=s=0; 1: r=s=n; 2: r=n, s from a real signature; 3: r real, s=n;
 * 4: r=0, s real; 5: r real, s=0. */
static char *build_psychic(int arg)
{
    bool p384 = arg >= 10;
    int mode = arg % 10;
    enum signer_id sg = p384 ? SG_EC384 : SG_EC256;
    const char *hdr = p384 ? "{\"alg\":\"ES384\"}" : "{\"alg\":\"ES256\"}";
    size_t coord = p384 ? 48 : 32, sig_len;
    EC_GROUP *group = EC_GROUP_new_by_curve_name(p384 ? NID_secp384r1 : NID_X9_62_prime256v1);
    unsigned char n[48], *sig;
    char *h = tu_b64url_str(hdr), *p = tu_b64url_str(CLAIMS_OK);
    char *input = tu_printf("%s.%s", h, p), *sig_b64, *tok;

    assert_non_null(group);
    assert_int_equal(BN_bn2binpad(EC_GROUP_get0_order(group), n, (int)coord), (int)coord);
    sig = tu_sign(&fx.signers[sg], input, strlen(input), &sig_len);
    assert_int_equal(sig_len, 2 * coord);
    switch (mode) {
    case 0: memset(sig, 0, 2 * coord); break;
    case 1:
        memcpy(sig, n, coord);
        memcpy(sig + coord, n, coord);
        break;
    case 2: memcpy(sig, n, coord); break;
    case 3: memcpy(sig + coord, n, coord); break;
    case 4: memset(sig, 0, coord); break;
    default: memset(sig + coord, 0, coord); break;
    }
    sig_b64 = tu_b64url(sig, sig_len);
    tok = tu_printf("%s.%s", input, sig_b64);
    EC_GROUP_free(group);
    free(h);
    free(p);
    free(input);
    free(sig);
    free(sig_b64);
    return tok;
}

/* A correct ECDSA signature, but DER-encoded as OpenSSL emits it instead of raw r||s. */
static char *build_der(int arg)
{
    enum signer_id sg = arg ? SG_EC384 : SG_EC256;
    char *h = tu_b64url_str(arg ? "{\"alg\":\"ES384\"}" : "{\"alg\":\"ES256\"}");
    char *p = tu_b64url_str(CLAIMS_OK);
    char *input = tu_printf("%s.%s", h, p);
    size_t der_len;
    unsigned char *der = tu_evp_sign(&fx.signers[sg], input, strlen(input), &der_len);
    char *sig_b64 = tu_b64url(der, der_len);
    char *tok = tu_printf("%s.%s", input, sig_b64);

    free(h);
    free(p);
    free(input);
    free(der);
    free(sig_b64);
    return tok;
}

/* Valid signatures cut or extended. arg = signer * 10 + mode; mode 0: drop the last byte,
 * 1: append a zero byte, 2: keep 16 bytes, 3: empty, 4: the signature twice. */
static char *build_siglen(int arg)
{
    static const char *const hdrs[SG_COUNT] = {[SG_HS] = HDR_HS,
                                               [SG_RSA] = "{\"alg\":\"RS256\"}",
                                               [SG_EC256] = "{\"alg\":\"ES256\"}",
                                               [SG_ED] = "{\"alg\":\"EdDSA\"}"};
    enum signer_id sg = (enum signer_id)(arg / 10);
    int mode = arg % 10;
    char *h = tu_b64url_str(hdrs[sg]), *p = tu_b64url_str(CLAIMS_OK);
    char *input = tu_printf("%s.%s", h, p), *sig_b64, *tok;
    size_t len;
    unsigned char *sig = tu_sign(&fx.signers[sg], input, strlen(input), &len);
    unsigned char *buf = calloc(2 * len + 1, 1);

    assert_non_null(buf);
    memcpy(buf, sig, len);
    switch (mode) {
    case 0: len -= 1; break;
    case 1: len += 1; break;
    case 2: len = 16; break;
    case 3: len = 0; break;
    default:
        memcpy(buf + len, sig, len);
        len *= 2;
        break;
    }
    sig_b64 = tu_b64url(buf, len);
    tok = tu_printf("%s.%s", input, sig_b64);
    free(h);
    free(p);
    free(input);
    free(sig);
    free(buf);
    free(sig_b64);
    return tok;
}

/* Wrong number of segments. */
static char *build_segments(int arg)
{
    char *valid = make(HDR_HS, CLAIMS_OK, SG_HS), *tok;
    size_t d1 = dot_pos(valid, 0), d2 = dot_pos(valid, 1);

    switch (arg) {
    case 0: tok = strndup(valid, d1); break;                        /* header only */
    case 1: tok = strndup(valid, d2); break;                        /* header.payload */
    case 2: tok = tu_printf("%s.", valid); break;                   /* trailing dot: 4 segments */
    case 3: tok = tu_printf("%s.%s", valid, valid + d2 + 1); break; /* 4 segments */
    case 4: tok = tu_printf("%s.AAAA.AAAA", valid); break;          /* 5, like a JWE */
    case 5: tok = tu_printf(".%s", valid); break;                   /* leading dot */
    case 6: tok = strdup(""); break;
    case 7: tok = strdup(".."); break;
    default: {
        /* 100 000 dots, alone (8) or after a valid token (9). */
        size_t base = arg == 9 ? strlen(valid) : 0;
        tok = malloc(base + 100000 + 1);
        assert_non_null(tok);
        memcpy(tok, valid, base);
        memset(tok + base, '.', 100000);
        tok[base + 100000] = '\0';
        break;
    }
    }
    assert_non_null(tok);
    free(valid);
    return tok;
}

/* Non-canonical base64url, signed over exactly the bytes shown.
 * arg 0-2: '=' padding on header / payload / signature;
 * 3-4: standard alphabet '+' '/' in header / payload; 5-6: '+' for '-' / '/' for '_' in
 * the signature; 7-9: non-zero trailing bits in header / payload / signature;
 * 10: a byte outside the alphabet (0xff) for '_' in the signature, 11: in the header;
 * 12: a space inside the header segment; 13: a newline after the token. */
static char *build_b64(int arg)
{
    const tu_signer *s = &fx.signers[SG_HS];
    char *h = NULL, *p = NULL, *tok = NULL, *json;

    switch (arg) {
    case 0:
    case 1: {
        char *padded = len1mod3(arg == 0 ? HDR_HS : CLAIMS_OK);
        char *enc = tu_b64url_str(padded);
        char *seg = tu_printf("%s==", enc);

        assert_int_equal(strlen(enc) % 4, 2);
        h = arg == 0 ? seg : tu_b64url_str(HDR_HS);
        p = arg == 1 ? seg : tu_b64url_str(CLAIMS_OK);
        tok = tu_jws_segments(h, p, s);
        free(padded);
        free(enc);
        break;
    }
    case 2:
        json = make(HDR_HS, CLAIMS_OK, SG_HS); /* 32-byte MAC: 43 chars, one '=' short */
        tok = tu_printf("%s=", json);
        free(json);
        break;
    case 3:
    case 4: {
        char *aligned = align_json(arg == 3 ? "{\"alg\":\"HS256\",\"x\":\"~~~???\"}"
                                            : "{\"sub\":\"~~~???\",\"exp\":" EXP_OK "}",
                                   "~~~");
        char *seg = tu_b64std(aligned, strlen(aligned));

        assert_non_null(strstr(seg, "fn5+Pz8/"));
        h = arg == 3 ? seg : tu_b64url_str(HDR_HS);
        p = arg == 4 ? seg : tu_b64url_str(CLAIMS_OK);
        tok = tu_jws_segments(h, p, s);
        free(aligned);
        break;
    }
    case 5:
    case 6:
    case 10: {
        char want = arg == 5 ? '-' : '_';
        char *at;

        tok = token_with_sig_char(want);
        at = strchr(tok + dot_pos(tok, 1) + 1, want);
        *at = (char)(arg == 5 ? '+' : arg == 6 ? '/' : '\xff');
        break;
    }
    case 7:
    case 8: {
        char *padded = len1mod3(arg == 7 ? HDR_HS : CLAIMS_OK);
        char *seg = tu_b64url_str(padded);

        set_trailing_bit(seg, strlen(seg));
        h = arg == 7 ? seg : tu_b64url_str(HDR_HS);
        p = arg == 8 ? seg : tu_b64url_str(CLAIMS_OK);
        tok = tu_jws_segments(h, p, s);
        free(padded);
        break;
    }
    case 9:
        tok = make(HDR_HS, CLAIMS_OK, SG_HS);
        set_trailing_bit(tok, strlen(tok));
        break;
    case 11: {
        char *aligned = align_json("{\"alg\":\"HS256\",\"x\":\"???\"}", "???");
        char *at;

        h = tu_b64url_str(aligned);
        at = strstr(h, "Pz8_");
        assert_non_null(at);
        at[3] = '\xff';
        p = tu_b64url_str(CLAIMS_OK);
        tok = tu_jws_segments(h, p, s);
        free(aligned);
        break;
    }
    case 12: {
        char *enc = tu_b64url_str(HDR_HS);

        h = tu_printf("%.8s %s", enc, enc + 8);
        p = tu_b64url_str(CLAIMS_OK);
        tok = tu_jws_segments(h, p, s);
        free(enc);
        break;
    }
    default:
        json = make(HDR_HS, CLAIMS_OK, SG_HS);
        tok = tu_printf("%s\n", json);
        free(json);
        break;
    }
    free(h);
    free(p);
    return tok;
}

/* Deep JSON: arg 0: header nested 10 000 deep; 1: claims 10 000 deep; 2: claims at the
 * default depth limit exactly (16, counting the claims object as 1); 3: one deeper. */
static char *build_deep(int arg)
{
    size_t depth = arg == 2 ? 15 : arg == 3 ? 16 : 10000;
    char *open = malloc(depth + 1), *close = malloc(depth + 1), *json, *tok;

    assert_non_null(open);
    assert_non_null(close);
    memset(open, '[', depth);
    memset(close, ']', depth);
    open[depth] = close[depth] = '\0';
    if (arg == 0) {
        json = tu_printf("{\"alg\":\"HS256\",\"x\":%s0%s}", open, close);
        tok = make(json, CLAIMS_OK, SG_HS);
    } else {
        json = tu_printf("{\"sub\":\"alice\",\"exp\":%s,\"x\":%s0%s}", EXP_OK, open, close);
        tok = make(HDR_HS, json, SG_HS);
    }
    free(open);
    free(close);
    free(json);
    return tok;
}

/* A validly signed token of at least 1 MiB. */
static char *build_huge(int arg)
{
    size_t blob = 800000;
    char *fill = malloc(blob + 1), *claims, *tok;

    (void)arg;
    assert_non_null(fill);
    memset(fill, 'a', blob);
    fill[blob] = '\0';
    claims = tu_printf("{\"sub\":\"alice\",\"exp\":%s,\"blob\":\"%s\"}", EXP_OK, fill);
    tok = make(HDR_HS, claims, SG_HS);
    assert_true(strlen(tok) >= (1u << 20));
    free(fill);
    free(claims);
    return tok;
}

/* kid of arg bytes ('a'), signed by k1 (so only the kid can make it fail). */
static char *build_long_kid(int arg)
{
    char *kid = malloc((size_t)arg + 1), *hdr, *tok;

    assert_non_null(kid);
    memset(kid, 'a', (size_t)arg);
    kid[arg] = '\0';
    hdr = tu_printf("{\"alg\":\"HS256\",\"kid\":\"%s\"}", kid);
    tok = make(hdr, CLAIMS_OK, SG_K1);
    free(kid);
    free(hdr);
    return tok;
}

/* Key sources in the header that must never be used; all signed by the attacker's key.
 * arg 0: jwk; 1: jwk plus the real key's kid; 2: jku; 3: x5u; 4: x5c; 5: jku plus the
 * real key's kid. */
static char *build_embedded(int arg)
{
    const char *kid = jwtd_key_kid(fx.ec256);
    char *hdr, *tok;

    switch (arg) {
    case 0: hdr = tu_printf("{\"alg\":\"ES256\",\"jwk\":%s}", fx.attacker_jwk); break;
    case 1:
        hdr = tu_printf("{\"alg\":\"ES256\",\"kid\":\"%s\",\"jwk\":%s}", kid, fx.attacker_jwk);
        break;
    case 2: hdr = tu_printf("{\"alg\":\"ES256\",\"jku\":\"https://attacker.example/jwks\"}"); break;
    case 3:
        hdr = tu_printf("{\"alg\":\"ES256\",\"x5u\":\"https://attacker.example/c.pem\"}");
        break;
    case 4: hdr = tu_printf("{\"alg\":\"ES256\",\"x5c\":[\"MIIBszCCAVmgAwIBAgIUQ\"]}"); break;
    default:
        hdr = tu_printf("{\"alg\":\"ES256\",\"kid\":\"%s\","
                        "\"jku\":\"https://attacker.example/jwks\"}",
                        kid);
        break;
    }
    tok = make(hdr, CLAIMS_OK, SG_ATTACKER);
    free(hdr);
    return tok;
}

/* Valid tokens altered after signing. arg 0: payload swapped for another one; 1: header
 * swapped; 2: the signature of a different token. */
static char *build_tamper(int arg)
{
    char *orig = make(HDR_HS, CLAIMS_OK, SG_HS);
    char *other = make("{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}",
                       "{\"sub\":\"admin\",\"aud\":\"api\",\"exp\":" EXP_OK "}", SG_HS);
    size_t o1 = dot_pos(orig, 0), o2 = dot_pos(orig, 1);
    size_t x1 = dot_pos(other, 0), x2 = dot_pos(other, 1);
    char *tok;

    if (arg == 0)
        tok = tu_printf("%.*s%.*s%s", (int)o1 + 1, orig, (int)(x2 - x1 - 1), other + x1 + 1,
                        orig + o2);
    else if (arg == 1)
        tok = tu_printf("%.*s%s", (int)x1, other, orig + o1);
    else
        tok = tu_printf("%.*s%s", (int)o2, orig, other + x2);
    free(orig);
    free(other);
    return tok;
}

/* A kid holding an escaped NUL: arg 0 "k1\u0000", 1 "\u0000". */
static char *build_nul_kid(int arg)
{
    return make(arg ? "{\"alg\":\"HS256\",\"kid\":\"\\u0000\"}"
                    : "{\"alg\":\"HS256\",\"kid\":\"k1\\u0000\"}",
                CLAIMS_OK, SG_K1);
}

/* ---- validation tweaks ---- */
static void tw_big(jwtd_validation *v)
{
    assert_int_equal(jwtd_validation_set_max_token_bytes(v, BIG_LIMIT), JWTD_OK);
}
static void tw_aud_api(jwtd_validation *v)
{
    assert_int_equal(jwtd_validation_add_audience(v, "api"), JWTD_OK);
}
static void tw_aud_other(jwtd_validation *v)
{
    assert_int_equal(jwtd_validation_add_audience(v, "billing"), JWTD_OK);
}
static void tw_iss_other(jwtd_validation *v)
{
    assert_int_equal(jwtd_validation_add_issuer(v, "https://other.example"), JWTD_OK);
}
static void tw_sub_other(jwtd_validation *v)
{
    assert_int_equal(jwtd_validation_add_subject(v, "bob"), JWTD_OK);
}
static void tw_require_role(jwtd_validation *v)
{
    assert_int_equal(jwtd_validation_require_claim(v, "role"), JWTD_OK);
}
static void tw_no_exp(jwtd_validation *v)
{
    assert_int_equal(jwtd_validation_require_exp(v, false), JWTD_OK);
}
static void tw_typ_at(jwtd_validation *v)
{
    assert_int_equal(jwtd_validation_set_typ(v, "at+jwt"), JWTD_OK);
}
static void tw_crit_foo(jwtd_validation *v)
{
    assert_int_equal(jwtd_validation_allow_crit(v, "foo"), JWTD_OK);
}
static void tw_unencoded(jwtd_validation *v)
{
    assert_int_equal(jwtd_validation_allow_unencoded_payload(v, true), JWTD_OK);
}

/* ---- the table ---- */
struct hcase {
    const char *name;
    /* Either a spec (header + claims JSON + signer) or a builder with its argument. */
    const char *header;
    const char *claims;
    enum signer_id sign;
    char *(*build)(int arg);
    int arg;
    enum keyset_id keys;
    jwtd_alg allow[3]; /* the allow-list; all zero = empty */
    void (*tweak)(jwtd_validation *v);
    jwtd_err expect;
    const char *claim; /* checked when not NULL */
};

#define HS                                                                                         \
    {                                                                                              \
        JWTD_ALG_HS256                                                                             \
    }
#define ES                                                                                         \
    {                                                                                              \
        JWTD_ALG_ES256                                                                             \
    }
#define CL(extra) "{\"sub\":\"alice\",\"iss\":\"https://issuer.example\",\"aud\":\"api\"" extra "}"
#define TOKEN_OK HDR_HS, CLAIMS_OK, SG_HS

/* clang-format off: one row per case reads as a table; the formatter would explode rows
 * with nested braces into one field per line. */
static const struct hcase cases[] = {
    /* Controls: the same fixture accepts the honest version of each kind of token. */
    {"control HS256", TOKEN_OK, NULL, 0, KS_HS, HS, NULL, JWTD_OK, NULL},
    {"control RS256",
     "{\"alg\":\"RS256\"}",
     CLAIMS_OK,
     SG_RSA,
     NULL,
     0,
     KS_RSA,
     {JWTD_ALG_RS256},
     NULL,
     JWTD_OK,
     NULL},
    {"control ES256", "{\"alg\":\"ES256\"}", CLAIMS_OK, SG_EC256, NULL, 0, KS_EC256, ES, NULL,
     JWTD_OK, NULL},
    {"control ES384",
     "{\"alg\":\"ES384\"}",
     CLAIMS_OK,
     SG_EC384,
     NULL,
     0,
     KS_EC384,
     {JWTD_ALG_ES384},
     NULL,
     JWTD_OK,
     NULL},
    {"control EdDSA",
     "{\"alg\":\"EdDSA\"}",
     CLAIMS_OK,
     SG_ED,
     NULL,
     0,
     KS_ED,
     {JWTD_ALG_EDDSA},
     NULL,
     JWTD_OK,
     NULL},
    {"control kid k1 in a JWKS", "{\"alg\":\"HS256\",\"kid\":\"k1\"}", CLAIMS_OK, SG_K1, NULL, 0,
     KS_JWKS, HS, NULL, JWTD_OK, NULL},
    {"control crit understood by the caller", "{\"alg\":\"HS256\",\"crit\":[\"foo\"],\"foo\":1}",
     CLAIMS_OK, SG_HS, NULL, 0, KS_HS, HS, tw_crit_foo, JWTD_OK, NULL},
    {"control 1 MiB token with the limit raised", NULL, NULL, 0, build_huge, 0, KS_HS, HS, tw_big,
     JWTD_OK, NULL},

    /* alg none, every spelling, with and without a signature. */
    {"alg none, no signature", NULL, NULL, 0, build_none, 0, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_ALGORITHM, NULL},
    {"alg none, HS256 signature", NULL, NULL, 0, build_none, 1, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_ALGORITHM, NULL},
    {"alg None, no signature", NULL, NULL, 0, build_none, 2, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_ALGORITHM, NULL},
    {"alg None, HS256 signature", NULL, NULL, 0, build_none, 3, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_ALGORITHM, NULL},
    {"alg NONE, no signature", NULL, NULL, 0, build_none, 4, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_ALGORITHM, NULL},
    {"alg NONE, HS256 signature", NULL, NULL, 0, build_none, 5, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_ALGORITHM, NULL},
    {"alg nOnE, no signature", NULL, NULL, 0, build_none, 6, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_ALGORITHM, NULL},
    {"alg nOnE, HS256 signature", NULL, NULL, 0, build_none, 7, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_ALGORITHM, NULL},
    {"alg none against an ES256 key", "{\"alg\":\"none\"}", CLAIMS_OK, SG_NONE, NULL, 0, KS_EC256,
     ES, NULL, JWTD_ERR_INVALID_ALGORITHM, NULL},

    /* The allow-list is the caller's, never the token's. */
    {"HS384 token, only HS256 allowed", "{\"alg\":\"HS384\"}", CLAIMS_OK, SG_HS384, NULL, 0, KS_HS,
     HS, NULL, JWTD_ERR_INVALID_ALGORITHM, NULL},
    {"PS256 token on an RS256-only verifier (key fits both)",
     "{\"alg\":\"PS256\"}",
     CLAIMS_OK,
     SG_RSA_PS256,
     NULL,
     0,
     KS_RSA,
     {JWTD_ALG_RS256},
     NULL,
     JWTD_ERR_INVALID_ALGORITHM,
     NULL},
    {"control PS256 allowed",
     "{\"alg\":\"PS256\"}",
     CLAIMS_OK,
     SG_RSA_PS256,
     NULL,
     0,
     KS_RSA,
     {JWTD_ALG_PS256},
     NULL,
     JWTD_OK,
     NULL},
    {"alg spelled hs256 (case matters)", "{\"alg\":\"hs256\"}", CLAIMS_OK, SG_HS, NULL, 0, KS_HS,
     HS, NULL, JWTD_ERR_INVALID_ALGORITHM, NULL},
    {"RS256 token, only ES256 allowed", "{\"alg\":\"RS256\"}", CLAIMS_OK, SG_RSA, NULL, 0, KS_EC256,
     ES, NULL, JWTD_ERR_INVALID_ALGORITHM, NULL},
    {"empty allow-list", TOKEN_OK, NULL, 0, KS_HS, {0}, NULL, JWTD_ERR_INVALID_ALGORITHM, NULL},

    /* Algorithm/key confusion. */
    {"RSA public PEM as HS256 secret, no kid",
     NULL,
     NULL,
     0,
     build_pem_as_secret,
     0,
     KS_RSA,
     {JWTD_ALG_RS256, JWTD_ALG_HS256},
     NULL,
     JWTD_ERR_INVALID_ALGORITHM,
     NULL},
    {"RSA public PEM as HS256 secret, RSA kid",
     NULL,
     NULL,
     0,
     build_pem_as_secret,
     1,
     KS_RSA,
     {JWTD_ALG_RS256, JWTD_ALG_HS256},
     NULL,
     JWTD_ERR_INVALID_ALGORITHM,
     NULL},
    {"EC public PEM as HS256 secret, no kid",
     NULL,
     NULL,
     0,
     build_pem_as_secret,
     2,
     KS_EC256,
     {JWTD_ALG_ES256, JWTD_ALG_HS256},
     NULL,
     JWTD_ERR_INVALID_ALGORITHM,
     NULL},
    {"EC public PEM as HS256 secret, EC kid",
     NULL,
     NULL,
     0,
     build_pem_as_secret,
     3,
     KS_EC256,
     {JWTD_ALG_ES256, JWTD_ALG_HS256},
     NULL,
     JWTD_ERR_INVALID_ALGORITHM,
     NULL},
    {"ES256 header on a P-384 key",
     "{\"alg\":\"ES256\"}",
     CLAIMS_OK,
     SG_EC384_AS_ES256,
     NULL,
     0,
     KS_EC384,
     {JWTD_ALG_ES256, JWTD_ALG_ES384},
     NULL,
     JWTD_ERR_INVALID_ALGORITHM,
     NULL},
    {"HS512 with a 32-byte secret",
     "{\"alg\":\"HS512\",\"kid\":\"k1\"}",
     CLAIMS_OK,
     SG_K1_HS512,
     NULL,
     0,
     KS_K1,
     {JWTD_ALG_HS512},
     NULL,
     JWTD_ERR_INVALID_ALGORITHM,
     NULL},

    /* Psychic signatures and other malformed ECDSA. */
    {"ES256 r=s=0", NULL, NULL, 0, build_psychic, 0, KS_EC256, ES, NULL, JWTD_ERR_INVALID_SIGNATURE,
     NULL},
    {"ES256 r=s=n", NULL, NULL, 0, build_psychic, 1, KS_EC256, ES, NULL, JWTD_ERR_INVALID_SIGNATURE,
     NULL},
    {"ES256 r=n", NULL, NULL, 0, build_psychic, 2, KS_EC256, ES, NULL, JWTD_ERR_INVALID_SIGNATURE,
     NULL},
    {"ES256 s=n", NULL, NULL, 0, build_psychic, 3, KS_EC256, ES, NULL, JWTD_ERR_INVALID_SIGNATURE,
     NULL},
    {"ES256 r=0", NULL, NULL, 0, build_psychic, 4, KS_EC256, ES, NULL, JWTD_ERR_INVALID_SIGNATURE,
     NULL},
    {"ES256 s=0", NULL, NULL, 0, build_psychic, 5, KS_EC256, ES, NULL, JWTD_ERR_INVALID_SIGNATURE,
     NULL},
    {"ES384 r=s=0",
     NULL,
     NULL,
     0,
     build_psychic,
     10,
     KS_EC384,
     {JWTD_ALG_ES384},
     NULL,
     JWTD_ERR_INVALID_SIGNATURE,
     NULL},
    {"ES384 r=s=n",
     NULL,
     NULL,
     0,
     build_psychic,
     11,
     KS_EC384,
     {JWTD_ALG_ES384},
     NULL,
     JWTD_ERR_INVALID_SIGNATURE,
     NULL},
    {"ES384 r=n",
     NULL,
     NULL,
     0,
     build_psychic,
     12,
     KS_EC384,
     {JWTD_ALG_ES384},
     NULL,
     JWTD_ERR_INVALID_SIGNATURE,
     NULL},
    {"ES384 s=n",
     NULL,
     NULL,
     0,
     build_psychic,
     13,
     KS_EC384,
     {JWTD_ALG_ES384},
     NULL,
     JWTD_ERR_INVALID_SIGNATURE,
     NULL},
    {"ES256 DER-encoded signature", NULL, NULL, 0, build_der, 0, KS_EC256, ES, NULL,
     JWTD_ERR_INVALID_SIGNATURE, NULL},
    {"ES384 DER-encoded signature",
     NULL,
     NULL,
     0,
     build_der,
     1,
     KS_EC384,
     {JWTD_ALG_ES384},
     NULL,
     JWTD_ERR_INVALID_SIGNATURE,
     NULL},

    /* Signature lengths. */
    {"HS256 signature minus 1 byte", NULL, NULL, 0, build_siglen, SG_HS * 10 + 0, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_SIGNATURE, NULL},
    {"HS256 signature plus 1 byte", NULL, NULL, 0, build_siglen, SG_HS * 10 + 1, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_SIGNATURE, NULL},
    {"HS256 signature truncated to 16 bytes", NULL, NULL, 0, build_siglen, SG_HS * 10 + 2, KS_HS,
     HS, NULL, JWTD_ERR_INVALID_SIGNATURE, NULL},
    {"HS256 empty signature", NULL, NULL, 0, build_siglen, SG_HS * 10 + 3, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_SIGNATURE, NULL},
    {"HS256 signature repeated twice", NULL, NULL, 0, build_siglen, SG_HS * 10 + 4, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_SIGNATURE, NULL},
    {"RS256 signature minus 1 byte",
     NULL,
     NULL,
     0,
     build_siglen,
     SG_RSA * 10 + 0,
     KS_RSA,
     {JWTD_ALG_RS256},
     NULL,
     JWTD_ERR_INVALID_SIGNATURE,
     NULL},
    {"RS256 signature plus 1 byte",
     NULL,
     NULL,
     0,
     build_siglen,
     SG_RSA * 10 + 1,
     KS_RSA,
     {JWTD_ALG_RS256},
     NULL,
     JWTD_ERR_INVALID_SIGNATURE,
     NULL},
    {"ES256 signature minus 1 byte", NULL, NULL, 0, build_siglen, SG_EC256 * 10 + 0, KS_EC256, ES,
     NULL, JWTD_ERR_INVALID_SIGNATURE, NULL},
    {"ES256 signature plus 1 byte", NULL, NULL, 0, build_siglen, SG_EC256 * 10 + 1, KS_EC256, ES,
     NULL, JWTD_ERR_INVALID_SIGNATURE, NULL},
    {"EdDSA signature minus 1 byte",
     NULL,
     NULL,
     0,
     build_siglen,
     SG_ED * 10 + 0,
     KS_ED,
     {JWTD_ALG_EDDSA},
     NULL,
     JWTD_ERR_INVALID_SIGNATURE,
     NULL},
    {"EdDSA signature plus 1 byte",
     NULL,
     NULL,
     0,
     build_siglen,
     SG_ED * 10 + 1,
     KS_ED,
     {JWTD_ALG_EDDSA},
     NULL,
     JWTD_ERR_INVALID_SIGNATURE,
     NULL},

    /* Segments. */
    {"1 segment", NULL, NULL, 0, build_segments, 0, KS_HS, HS, NULL, JWTD_ERR_INVALID_TOKEN, NULL},
    {"2 segments", NULL, NULL, 0, build_segments, 1, KS_HS, HS, NULL, JWTD_ERR_INVALID_TOKEN, NULL},
    {"valid token plus a trailing dot", NULL, NULL, 0, build_segments, 2, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, NULL},
    {"4 segments", NULL, NULL, 0, build_segments, 3, KS_HS, HS, NULL, JWTD_ERR_INVALID_TOKEN, NULL},
    {"5 segments", NULL, NULL, 0, build_segments, 4, KS_HS, HS, NULL, JWTD_ERR_INVALID_TOKEN, NULL},
    {"leading dot", NULL, NULL, 0, build_segments, 5, KS_HS, HS, NULL, JWTD_ERR_INVALID_TOKEN,
     NULL},
    {"empty token", NULL, NULL, 0, build_segments, 6, KS_HS, HS, NULL, JWTD_ERR_INVALID_TOKEN,
     NULL},
    {"two dots only", NULL, NULL, 0, build_segments, 7, KS_HS, HS, NULL, JWTD_ERR_INVALID_TOKEN,
     NULL},
    {"100k dots, default size limit", NULL, NULL, 0, build_segments, 8, KS_HS, HS, NULL,
     JWTD_ERR_TOKEN_TOO_LARGE, NULL},
    {"100k dots, size limit raised", NULL, NULL, 0, build_segments, 8, KS_HS, HS, tw_big,
     JWTD_ERR_INVALID_TOKEN, NULL},
    {"valid token then 100k dots, size limit raised", NULL, NULL, 0, build_segments, 9, KS_HS, HS,
     tw_big, JWTD_ERR_INVALID_TOKEN, NULL},

    /* Canonical base64url only. */
    {"header padded with '='", NULL, NULL, 0, build_b64, 0, KS_HS, HS, NULL, JWTD_ERR_INVALID_TOKEN,
     NULL},
    {"payload padded with '='", NULL, NULL, 0, build_b64, 1, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, NULL},
    {"signature padded with '='", NULL, NULL, 0, build_b64, 2, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, NULL},
    {"header in standard alphabet ('+' '/')", NULL, NULL, 0, build_b64, 3, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, NULL},
    {"payload in standard alphabet ('+' '/')", NULL, NULL, 0, build_b64, 4, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, NULL},
    {"signature with '+' for '-'", NULL, NULL, 0, build_b64, 5, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, NULL},
    {"signature with '/' for '_'", NULL, NULL, 0, build_b64, 6, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, NULL},
    {"header with non-zero trailing bits", NULL, NULL, 0, build_b64, 7, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, NULL},
    {"payload with non-zero trailing bits", NULL, NULL, 0, build_b64, 8, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, NULL},
    {"signature with non-zero trailing bits", NULL, NULL, 0, build_b64, 9, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, NULL},
    {"signature with byte 0xff for '_'", NULL, NULL, 0, build_b64, 10, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, NULL},
    {"header with byte 0xff for '_'", NULL, NULL, 0, build_b64, 11, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, NULL},
    {"space inside the header segment", NULL, NULL, 0, build_b64, 12, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, NULL},
    {"newline after the token", NULL, NULL, 0, build_b64, 13, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, NULL},

    /* Strict JSON. */
    {"duplicate alg in header", "{\"alg\":\"HS256\",\"alg\":\"HS256\"}", CLAIMS_OK, SG_HS, NULL, 0,
     KS_HS, HS, NULL, JWTD_ERR_INVALID_TOKEN, NULL},
    {"duplicate alg in header, none first", "{\"alg\":\"none\",\"alg\":\"HS256\"}", CLAIMS_OK,
     SG_HS, NULL, 0, KS_HS, HS, NULL, JWTD_ERR_INVALID_TOKEN, NULL},
    {"duplicate exp in claims", HDR_HS, "{\"sub\":\"alice\",\"exp\":" EXP_OK ",\"exp\":1700007200}",
     SG_HS, NULL, 0, KS_HS, HS, NULL, JWTD_ERR_INVALID_TOKEN, NULL},
    {"duplicate sub in claims", HDR_HS, CL(",\"exp\":" EXP_OK ",\"sub\":\"admin\""), SG_HS, NULL, 0,
     KS_HS, HS, NULL, JWTD_ERR_INVALID_TOKEN, NULL},
    {"duplicate sub in claims, spelled \\u0073ub", HDR_HS,
     CL(",\"exp\":" EXP_OK ",\"\\u0073ub\":\"admin\""), SG_HS, NULL, 0, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, NULL},
    {"duplicate aud inside an object claim, spelled \\u0061ud", HDR_HS,
     CL(",\"exp\":" EXP_OK ",\"act\":{\"aud\":1,\"\\u0061ud\":2}"), SG_HS, NULL, 0, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, NULL},
    {"header JSON 10k deep (size limit raised)", NULL, NULL, 0, build_deep, 0, KS_HS, HS, tw_big,
     JWTD_ERR_INVALID_TOKEN, NULL},
    {"claims JSON 10k deep (size limit raised)", NULL, NULL, 0, build_deep, 1, KS_HS, HS, tw_big,
     JWTD_ERR_INVALID_TOKEN, NULL},
    {"claims at the default depth limit (16)", NULL, NULL, 0, build_deep, 2, KS_HS, HS, NULL,
     JWTD_OK, NULL},
    {"claims one deeper than the default limit (17)", NULL, NULL, 0, build_deep, 3, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, NULL},
    {"header not an object: []", "[]", CLAIMS_OK, SG_HS, NULL, 0, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, NULL},
    {"header not an object: string", "\"HS256\"", CLAIMS_OK, SG_HS, NULL, 0, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, NULL},
    {"header not JSON", "alg=HS256", CLAIMS_OK, SG_HS, NULL, 0, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, NULL},
    {"claims not an object: []", HDR_HS, "[]", SG_HS, NULL, 0, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, NULL},
    {"claims not an object: 123", HDR_HS, "123", SG_HS, NULL, 0, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, NULL},
    {"claims not an object: null", HDR_HS, "null", SG_HS, NULL, 0, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, NULL},
    {"claims empty", HDR_HS, "", SG_HS, NULL, 0, KS_HS, HS, NULL, JWTD_ERR_INVALID_TOKEN, NULL},
    {"claims with trailing garbage", HDR_HS, CLAIMS_OK "x", SG_HS, NULL, 0, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, NULL},
    {"invalid UTF-8 in header", "{\"alg\":\"HS256\",\"x\":\"\xff\"}", CLAIMS_OK, SG_HS, NULL, 0,
     KS_HS, HS, NULL, JWTD_ERR_INVALID_TOKEN, NULL},
    {"invalid UTF-8 in claims", HDR_HS, CL(",\"exp\":" EXP_OK ",\"name\":\"\xc3\x28\""), SG_HS,
     NULL, 0, KS_HS, HS, NULL, JWTD_ERR_INVALID_TOKEN, NULL},
    {"overlong UTF-8 in claims", HDR_HS, CL(",\"exp\":" EXP_OK ",\"name\":\"\xc0\xaf\""), SG_HS,
     NULL, 0, KS_HS, HS, NULL, JWTD_ERR_INVALID_TOKEN, NULL},
    {"UTF-8 encoded surrogate in claims", HDR_HS,
     CL(",\"exp\":" EXP_OK ",\"name\":\"\xed\xa0\x80\""), SG_HS, NULL, 0, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, NULL},
    {"escaped lone surrogate in claims", HDR_HS, CL(",\"exp\":" EXP_OK ",\"name\":\"\\ud800\""),
     SG_HS, NULL, 0, KS_HS, HS, NULL, JWTD_ERR_INVALID_TOKEN, NULL},

    /* Size. */
    {"1 MiB token, default limit", NULL, NULL, 0, build_huge, 0, KS_HS, HS, NULL,
     JWTD_ERR_TOKEN_TOO_LARGE, NULL},

    /* Registered claim types (the lead's rule: InvalidToken naming the claim). */
    {"exp as string", HDR_HS, CL(",\"exp\":\"" EXP_OK "\""), SG_HS, NULL, 0, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, "exp"},
    {"exp negative", HDR_HS, CL(",\"exp\":-1"), SG_HS, NULL, 0, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, "exp"},
    /* jansson refuses these two numbers while parsing ("real number overflow", "too big
     * integer"), before any exp member exists, so the claims as a whole are invalid and no
     * claim is named. */
    {"exp 1e400", HDR_HS, CL(",\"exp\":1e400"), SG_HS, NULL, 0, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, ""},
    {"exp 2^63", HDR_HS, CL(",\"exp\":9223372036854775808"), SG_HS, NULL, 0, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, ""},
    {"exp 9.3e18", HDR_HS, CL(",\"exp\":9.3e18"), SG_HS, NULL, 0, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, "exp"},
    {"exp null", HDR_HS, CL(",\"exp\":null"), SG_HS, NULL, 0, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, "exp"},
    {"exp true", HDR_HS, CL(",\"exp\":true"), SG_HS, NULL, 0, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, "exp"},
    {"exp 2^63-1 (no overflow adding the leeway)", HDR_HS, CL(",\"exp\":9223372036854775807"),
     SG_HS, NULL, 0, KS_HS, HS, NULL, JWTD_OK, NULL},
    {"exp fractional, now+100.5", HDR_HS, CL(",\"exp\":1700000100.5"), SG_HS, NULL, 0, KS_HS, HS,
     NULL, JWTD_OK, NULL},
    {"nbf as string", HDR_HS, CL(",\"exp\":" EXP_OK ",\"nbf\":\"0\""), SG_HS, NULL, 0, KS_HS, HS,
     NULL, JWTD_ERR_INVALID_TOKEN, "nbf"},
    {"nbf negative", HDR_HS, CL(",\"exp\":" EXP_OK ",\"nbf\":-5"), SG_HS, NULL, 0, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, "nbf"},
    {"aud array with a number", HDR_HS,
     "{\"sub\":\"alice\",\"aud\":[\"api\",1],\"exp\":" EXP_OK "}", SG_HS, NULL, 0, KS_HS, HS,
     tw_aud_api, JWTD_ERR_INVALID_TOKEN, "aud"},
    {"aud array with null", HDR_HS, "{\"sub\":\"alice\",\"aud\":[\"api\",null],\"exp\":" EXP_OK "}",
     SG_HS, NULL, 0, KS_HS, HS, tw_aud_api, JWTD_ERR_INVALID_TOKEN, "aud"},
    {"aud a number", HDR_HS, "{\"sub\":\"alice\",\"aud\":7,\"exp\":" EXP_OK "}", SG_HS, NULL, 0,
     KS_HS, HS, tw_aud_api, JWTD_ERR_INVALID_TOKEN, "aud"},

    /* crit and b64. */
    {"crit with an unknown extension", "{\"alg\":\"HS256\",\"crit\":[\"foo\"],\"foo\":1}",
     CLAIMS_OK, SG_HS, NULL, 0, KS_HS, HS, NULL, JWTD_ERR_UNSUPPORTED_CRITICAL, NULL},
    {"crit naming alg", "{\"alg\":\"HS256\",\"crit\":[\"alg\"]}", CLAIMS_OK, SG_HS, NULL, 0, KS_HS,
     HS, NULL, JWTD_ERR_INVALID_TOKEN, NULL},
    {"crit naming typ", "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"crit\":[\"typ\"]}", CLAIMS_OK, SG_HS,
     NULL, 0, KS_HS, HS, NULL, JWTD_ERR_INVALID_TOKEN, NULL},
    {"crit empty array", "{\"alg\":\"HS256\",\"crit\":[]}", CLAIMS_OK, SG_HS, NULL, 0, KS_HS, HS,
     NULL, JWTD_ERR_INVALID_TOKEN, NULL},
    {"crit a string", "{\"alg\":\"HS256\",\"crit\":\"foo\",\"foo\":1}", CLAIMS_OK, SG_HS, NULL, 0,
     KS_HS, HS, NULL, JWTD_ERR_INVALID_TOKEN, NULL},
    {"crit array with a number", "{\"alg\":\"HS256\",\"crit\":[1]}", CLAIMS_OK, SG_HS, NULL, 0,
     KS_HS, HS, NULL, JWTD_ERR_INVALID_TOKEN, NULL},
    {"b64:false without crit", "{\"alg\":\"HS256\",\"b64\":false}", CLAIMS_OK, SG_HS, NULL, 0,
     KS_HS, HS, NULL, JWTD_ERR_INVALID_TOKEN, NULL},
    {"b64:false without crit, unencoded allowed", "{\"alg\":\"HS256\",\"b64\":false}", CLAIMS_OK,
     SG_HS, NULL, 0, KS_HS, HS, tw_unencoded, JWTD_ERR_INVALID_TOKEN, NULL},
    {"b64:false with crit in a JWT, unencoded allowed",
     "{\"alg\":\"HS256\",\"b64\":false,\"crit\":[\"b64\"]}", CLAIMS_OK, SG_HS, NULL, 0, KS_HS, HS,
     tw_unencoded, JWTD_ERR_INVALID_TOKEN, NULL},

    /* Header names and values compared after unescaping (the header is read by jread). */
    {"duplicate alg in the header, spelled \\u0061lg",
     "{\"alg\":\"HS256\",\"\\u0061lg\":\"HS256\"}", CLAIMS_OK, SG_HS, NULL, 0, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, NULL},
    {"control alg spelled HS\\u0032\\u0035\\u0036", "{\"alg\":\"HS\\u0032\\u0035\\u0036\"}",
     CLAIMS_OK, SG_HS, NULL, 0, KS_HS, HS, NULL, JWTD_OK, NULL},
    {"alg a number", "{\"alg\":256}", CLAIMS_OK, SG_HS, NULL, 0, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_ALGORITHM, NULL},
    {"crit repeats foo, once spelled f\\u006fo",
     "{\"alg\":\"HS256\",\"crit\":[\"f\\u006fo\",\"foo\"],\"foo\":1}", CLAIMS_OK, SG_HS, NULL, 0,
     KS_HS, HS, tw_crit_foo, JWTD_ERR_INVALID_TOKEN, NULL},
    {"control crit f\\u006fo understood by the caller",
     "{\"alg\":\"HS256\",\"crit\":[\"f\\u006fo\"],\"\\u0066oo\":1}", CLAIMS_OK, SG_HS, NULL, 0,
     KS_HS, HS, tw_crit_foo, JWTD_OK, NULL},
    {"crit naming a\\u006cg", "{\"alg\":\"HS256\",\"crit\":[\"a\\u006cg\"]}", CLAIMS_OK, SG_HS,
     NULL, 0, KS_HS, HS, tw_crit_foo, JWTD_ERR_INVALID_TOKEN, NULL},
    {"b64:false spelled \\u0062\\u0036\\u0034 without crit, unencoded allowed",
     "{\"alg\":\"HS256\",\"\\u0062\\u0036\\u0034\":false}", CLAIMS_OK, SG_HS, NULL, 0, KS_HS, HS,
     tw_unencoded, JWTD_ERR_INVALID_TOKEN, NULL},
    {"b64 a string", "{\"alg\":\"HS256\",\"b64\":\"false\"}", CLAIMS_OK, SG_HS, NULL, 0, KS_HS, HS,
     NULL, JWTD_ERR_INVALID_TOKEN, NULL},
    {"control b64:true", "{\"alg\":\"HS256\",\"b64\":true}", CLAIMS_OK, SG_HS, NULL, 0, KS_HS, HS,
     NULL, JWTD_OK, NULL},
    {"typ a number", "{\"alg\":\"HS256\",\"typ\":1}", CLAIMS_OK, SG_HS, NULL, 0, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, NULL},
    {"control typ AT+\\u004aWT, at+jwt expected", "{\"alg\":\"HS256\",\"typ\":\"AT+\\u004aWT\"}",
     CLAIMS_OK, SG_HS, NULL, 0, KS_HS, HS, tw_typ_at, JWTD_OK, NULL},
    {"control kid spelled k\\u0031 against a JWKS", "{\"alg\":\"HS256\",\"kid\":\"k\\u0031\"}",
     CLAIMS_OK, SG_K1, NULL, 0, KS_JWKS, HS, NULL, JWTD_OK, NULL},
    {"kid a number", "{\"alg\":\"HS256\",\"kid\":1}", CLAIMS_OK, SG_HS, NULL, 0, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, NULL},

    /* kid. */
    {"kid ../../dev/null against a JWKS", "{\"alg\":\"HS256\",\"kid\":\"../../dev/null\"}",
     CLAIMS_OK, SG_K1, NULL, 0, KS_JWKS, HS, NULL, JWTD_ERR_KEY_NOT_FOUND, NULL},
    {"kid k1 followed by an escaped NUL", NULL, NULL, 0, build_nul_kid, 0, KS_JWKS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, NULL},
    {"kid only an escaped NUL", NULL, NULL, 0, build_nul_kid, 1, KS_JWKS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, NULL},
    {"kid of 10 KiB (size limit raised)", NULL, NULL, 0, build_long_kid, 10240, KS_JWKS, HS, tw_big,
     JWTD_ERR_INVALID_TOKEN, NULL},
    {"kid of MAX_KID_BYTES+1", NULL, NULL, 0, build_long_kid, JWTD_MAX_KID_BYTES + 1, KS_JWKS, HS,
     NULL, JWTD_ERR_INVALID_TOKEN, NULL},
    {"kid of MAX_KID_BYTES, unknown", NULL, NULL, 0, build_long_kid, JWTD_MAX_KID_BYTES, KS_JWKS,
     HS, NULL, JWTD_ERR_KEY_NOT_FOUND, NULL},
    {"kid not matching the only key's kid", "{\"alg\":\"HS256\",\"kid\":\"other\"}", CLAIMS_OK,
     SG_K1, NULL, 0, KS_K1, HS, NULL, JWTD_ERR_KEY_NOT_FOUND, NULL},
    {"kid not a string", "{\"alg\":\"HS256\",\"kid\":1}", CLAIMS_OK, SG_K1, NULL, 0, KS_K1, HS,
     NULL, JWTD_ERR_INVALID_TOKEN, NULL},

    /* Key sources in the header are never used. */
    {"embedded jwk of the attacker", NULL, NULL, 0, build_embedded, 0, KS_EC256, ES, NULL,
     JWTD_ERR_INVALID_SIGNATURE, NULL},
    {"embedded jwk of the attacker with the real kid", NULL, NULL, 0, build_embedded, 1, KS_EC256,
     ES, NULL, JWTD_ERR_INVALID_SIGNATURE, NULL},
    {"jku to the attacker", NULL, NULL, 0, build_embedded, 2, KS_EC256, ES, NULL,
     JWTD_ERR_INVALID_SIGNATURE, NULL},
    {"x5u to the attacker", NULL, NULL, 0, build_embedded, 3, KS_EC256, ES, NULL,
     JWTD_ERR_INVALID_SIGNATURE, NULL},
    {"x5c of the attacker", NULL, NULL, 0, build_embedded, 4, KS_EC256, ES, NULL,
     JWTD_ERR_INVALID_SIGNATURE, NULL},
    {"jku with the real kid", NULL, NULL, 0, build_embedded, 5, KS_EC256, ES, NULL,
     JWTD_ERR_INVALID_SIGNATURE, NULL},

    /* Time, with the default 60 s leeway and the clock fixed at 1700000000. */
    {"expired by leeway+1 s", HDR_HS, CL(",\"exp\":1699999939"), SG_HS, NULL, 0, KS_HS, HS, NULL,
     JWTD_ERR_EXPIRED_SIGNATURE, NULL},
    {"expired by exactly the leeway", HDR_HS, CL(",\"exp\":1699999940"), SG_HS, NULL, 0, KS_HS, HS,
     NULL, JWTD_ERR_EXPIRED_SIGNATURE, NULL},
    {"expired by leeway-1 s (accepted)", HDR_HS, CL(",\"exp\":1699999941"), SG_HS, NULL, 0, KS_HS,
     HS, NULL, JWTD_OK, NULL},
    {"expired, exp spelled \\u0065\\u0078\\u0070", HDR_HS,
     CL(",\"\\u0065\\u0078\\u0070\":1699999939"), SG_HS, NULL, 0, KS_HS, HS, NULL,
     JWTD_ERR_EXPIRED_SIGNATURE, NULL},
    {"nbf in the future by leeway+1 s", HDR_HS, CL(",\"exp\":" EXP_OK ",\"nbf\":1700000061"), SG_HS,
     NULL, 0, KS_HS, HS, NULL, JWTD_ERR_IMMATURE_SIGNATURE, NULL},
    {"nbf in the future by exactly the leeway (accepted)", HDR_HS,
     CL(",\"exp\":" EXP_OK ",\"nbf\":1700000060"), SG_HS, NULL, 0, KS_HS, HS, NULL, JWTD_OK, NULL},
    {"nbf 2^63-1", HDR_HS, CL(",\"exp\":" EXP_OK ",\"nbf\":9223372036854775807"), SG_HS, NULL, 0,
     KS_HS, HS, NULL, JWTD_ERR_IMMATURE_SIGNATURE, NULL},

    /* Audience, issuer, subject, required claims, typ. */
    {"wrong aud", TOKEN_OK, NULL, 0, KS_HS, HS, tw_aud_other, JWTD_ERR_INVALID_AUDIENCE, NULL},
    {"aud expected, token has none", HDR_HS, "{\"sub\":\"alice\",\"exp\":" EXP_OK "}", SG_HS, NULL,
     0, KS_HS, HS, tw_aud_api, JWTD_ERR_INVALID_AUDIENCE, NULL},
    {"aud expected, token's spelled \\u0061ud is another", HDR_HS,
     "{\"sub\":\"alice\",\"exp\":" EXP_OK ",\"\\u0061ud\":\"other\"}", SG_HS, NULL, 0, KS_HS, HS,
     tw_aud_api, JWTD_ERR_INVALID_AUDIENCE, NULL},
    {"iss spelled i\\u0073s must be a string", HDR_HS,
     "{\"sub\":\"alice\",\"exp\":" EXP_OK ",\"i\\u0073s\":7}", SG_HS, NULL, 0, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_TOKEN, NULL},
    {"wrong iss", TOKEN_OK, NULL, 0, KS_HS, HS, tw_iss_other, JWTD_ERR_INVALID_ISSUER, NULL},
    {"wrong sub", TOKEN_OK, NULL, 0, KS_HS, HS, tw_sub_other, JWTD_ERR_INVALID_SUBJECT, NULL},
    {"missing required claim role", TOKEN_OK, NULL, 0, KS_HS, HS, tw_require_role,
     JWTD_ERR_MISSING_REQUIRED_CLAIM, "role"},
    {"missing exp", HDR_HS, CL(""), SG_HS, NULL, 0, KS_HS, HS, NULL,
     JWTD_ERR_MISSING_REQUIRED_CLAIM, "exp"},
    {"missing exp, exp not required", HDR_HS, CL(""), SG_HS, NULL, 0, KS_HS, HS, tw_no_exp, JWTD_OK,
     NULL},
    {"typ JWT, at+jwt expected", TOKEN_OK, NULL, 0, KS_HS, HS, tw_typ_at, JWTD_ERR_INVALID_TYPE,
     NULL},
    {"no typ, at+jwt expected", "{\"alg\":\"HS256\"}", CLAIMS_OK, SG_HS, NULL, 0, KS_HS, HS,
     tw_typ_at, JWTD_ERR_INVALID_TYPE, NULL},

    /* Signatures that do not verify, and always win over claim errors. */
    {"payload swapped after signing", NULL, NULL, 0, build_tamper, 0, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_SIGNATURE, NULL},
    {"header swapped after signing", NULL, NULL, 0, build_tamper, 1, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_SIGNATURE, NULL},
    {"signature of another token", NULL, NULL, 0, build_tamper, 2, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_SIGNATURE, NULL},
    {"HS256 by another secret", HDR_HS, CLAIMS_OK, SG_HS_OTHER, NULL, 0, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_SIGNATURE, NULL},
    {"ES256 by another key", "{\"alg\":\"ES256\"}", CLAIMS_OK, SG_ATTACKER, NULL, 0, KS_EC256, ES,
     NULL, JWTD_ERR_INVALID_SIGNATURE, NULL},
    {"kid k2 but signed by k1", "{\"alg\":\"HS256\",\"kid\":\"k2\"}", CLAIMS_OK, SG_K1, NULL, 0,
     KS_JWKS, HS, NULL, JWTD_ERR_INVALID_SIGNATURE, NULL},
    {"bad signature and expired", HDR_HS, CL(",\"exp\":1600000000"), SG_HS_BADSIG, NULL, 0, KS_HS,
     HS, NULL, JWTD_ERR_INVALID_SIGNATURE, NULL},
    {"bad signature and immature", HDR_HS, CL(",\"exp\":" EXP_OK ",\"nbf\":1800000000"),
     SG_HS_BADSIG, NULL, 0, KS_HS, HS, NULL, JWTD_ERR_INVALID_SIGNATURE, NULL},
    {"bad signature and wrong aud", HDR_HS, CLAIMS_OK, SG_HS_BADSIG, NULL, 0, KS_HS, HS,
     tw_aud_other, JWTD_ERR_INVALID_SIGNATURE, NULL},
    {"bad signature and wrong iss", HDR_HS, CLAIMS_OK, SG_HS_BADSIG, NULL, 0, KS_HS, HS,
     tw_iss_other, JWTD_ERR_INVALID_SIGNATURE, NULL},
    {"bad signature and missing required claim", HDR_HS, CLAIMS_OK, SG_HS_BADSIG, NULL, 0, KS_HS,
     HS, tw_require_role, JWTD_ERR_INVALID_SIGNATURE, NULL},
    {"bad signature and missing exp", HDR_HS, CL(""), SG_HS_BADSIG, NULL, 0, KS_HS, HS, NULL,
     JWTD_ERR_INVALID_SIGNATURE, NULL},
};
/* clang-format on */

static void test_hostile_table(void **state)
{
    jwtd_cache *cache = NULL;
    int failures = 0;

    (void)state;
    /* Every row is also verified through one cache shared by the whole table, twice (a miss,
     * then a hit): cached headers and signature contexts change no decision. */
    assert_int_equal(jwtd_cache_new(&cache), JWTD_OK);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct hcase *c = &cases[i];
        jwtd_validation *v = tu_validation(JWTD_ALG_UNKNOWN);
        jwtd_token *t = NULL;
        jwtd_error err;
        char *tok;
        jwtd_err rc;

        for (size_t a = 0; a < 3 && c->allow[a] != JWTD_ALG_UNKNOWN; a++)
            assert_int_equal(jwtd_validation_allow_alg(v, c->allow[a]), JWTD_OK);
        if (c->tweak != NULL)
            c->tweak(v);
        tok = c->build != NULL ? c->build(c->arg) : make(c->header, c->claims, c->sign);
        memset(&err, 0, sizeof err);
        rc = jwtd_verify(tok, strlen(tok), fx.sets[c->keys], v, &t, &err);
        if ((rc == JWTD_OK) != (t != NULL)) {
            print_error("FAIL [%s]: %s with token %p\n", c->name, jwtd_err_name(rc), (void *)t);
            failures++;
        } else if (rc != c->expect) {
            print_error("FAIL [%s]: expected %s, got %s (claim '%s', reason '%s')\n", c->name,
                        jwtd_err_name(c->expect), jwtd_err_name(rc), err.claim,
                        err.reason != NULL ? err.reason : "");
            failures++;
        } else if (rc != JWTD_OK && err.kind != rc) {
            print_error("FAIL [%s]: returned %s but jwtd_error.kind is %s\n", c->name,
                        jwtd_err_name(rc), jwtd_err_name(err.kind));
            failures++;
        } else if (c->claim != NULL && strcmp(err.claim, c->claim) != 0) {
            print_error("FAIL [%s]: %s as expected, but claim '%s' instead of '%s'\n", c->name,
                        jwtd_err_name(rc), err.claim, c->claim);
            failures++;
        }
        for (int pass = 0; pass < 2; pass++) {
            jwtd_token *ct = NULL;
            jwtd_err crc =
                jwtd_verify_cached(cache, tok, strlen(tok), fx.sets[c->keys], v, &ct, NULL);
            if (crc != rc || (crc == JWTD_OK) != (ct != NULL)) {
                print_error("FAIL [%s]: %s without a cache, %s with one (pass %d)\n", c->name,
                            jwtd_err_name(rc), jwtd_err_name(crc), pass);
                failures++;
            }
            jwtd_token_free(ct);
        }
        jwtd_token_free(t);
        free(tok);
        jwtd_validation_free(v);
    }
    jwtd_cache_free(cache);
    if (failures > 0)
        fail_msg("%d of %zu hostile cases failed", failures, sizeof cases / sizeof cases[0]);
}

/* The size limit is inclusive, and raising it lets exactly that many bytes through. */
static void test_size_limit_boundary(void **state)
{
    jwtd_validation *v = tu_validation(JWTD_ALG_HS256);
    char *tok = build_huge(0);
    size_t len = strlen(tok);
    jwtd_token *t = NULL;
    jwtd_error err;

    (void)state;
    assert_int_equal(jwtd_verify(tok, len, fx.sets[KS_HS], v, &t, &err), JWTD_ERR_TOKEN_TOO_LARGE);
    assert_int_equal(jwtd_validation_set_max_token_bytes(v, len - 1), JWTD_OK);
    assert_int_equal(jwtd_verify(tok, len, fx.sets[KS_HS], v, &t, &err), JWTD_ERR_TOKEN_TOO_LARGE);
    assert_int_equal(jwtd_validation_set_max_token_bytes(v, len), JWTD_OK);
    assert_int_equal(jwtd_verify(tok, len, fx.sets[KS_HS], v, &t, &err), JWTD_OK);
    jwtd_token_free(t);
    free(tok);
    jwtd_validation_free(v);
}

/* The default limit is JWTD_DEFAULT_MAX_TOKEN_BYTES, inclusive: a token of exactly that
 * many bytes passes, one byte more does not. */
static void test_default_size_limit(void **state)
{
    jwtd_validation *v = tu_validation(JWTD_ALG_HS256);
    char *exact = NULL, *over = NULL;
    jwtd_error err;

    (void)state;
    /* Grow the claims (and the header by spaces) until both lengths have been produced. */
    for (size_t fill = 5500; fill < 6500 && (exact == NULL || over == NULL); fill++) {
        for (int pad = 0; pad < 3; pad++) {
            char *f = malloc(fill + 1), *claims, *hdr, *tok;
            size_t len;

            assert_non_null(f);
            memset(f, 'b', fill);
            f[fill] = '\0';
            claims = tu_printf("{\"sub\":\"alice\",\"exp\":%s,\"f\":\"%s\"}", EXP_OK, f);
            hdr = tu_printf("{\"alg\":\"HS256\"%*s}", pad, "");
            tok = make(hdr, claims, SG_HS);
            len = strlen(tok);
            if (len == JWTD_DEFAULT_MAX_TOKEN_BYTES && exact == NULL)
                exact = tok;
            else if (len == JWTD_DEFAULT_MAX_TOKEN_BYTES + 1 && over == NULL)
                over = tok;
            else
                free(tok);
            free(f);
            free(claims);
            free(hdr);
        }
    }
    assert_non_null(exact);
    assert_non_null(over);
    assert_int_equal(tu_verify(exact, fx.sets[KS_HS], v, &err), JWTD_OK);
    assert_int_equal(tu_verify(over, fx.sets[KS_HS], v, &err), JWTD_ERR_TOKEN_TOO_LARGE);
    free(exact);
    free(over);
    jwtd_validation_free(v);
}

/* RSA under 2048 bits: refused at load (every format) unless ALLOW_WEAK; then it works. */
static void test_weak_rsa_key(void **state)
{
    EVP_PKEY *pkey = EVP_RSA_gen(1024);
    BIO *pub_bio = BIO_new(BIO_s_mem()), *priv_bio = BIO_new(BIO_s_mem());
    char *pub_pem, *priv_pem, *jwk = NULL, *tok;
    long pub_len, priv_len;
    jwtd_key *key = NULL;
    jwtd_keyset *set = NULL;
    jwtd_validation *v = tu_validation(JWTD_ALG_RS256);
    tu_signer s = {JWTD_ALG_RS256, pkey, NULL, 0};
    jwtd_error err;

    (void)state;
    assert_non_null(pkey);
    assert_int_equal(PEM_write_bio_PUBKEY(pub_bio, pkey), 1);
    assert_int_equal(PEM_write_bio_PrivateKey(priv_bio, pkey, NULL, NULL, 0, NULL, NULL), 1);
    pub_len = BIO_get_mem_data(pub_bio, &pub_pem);
    priv_len = BIO_get_mem_data(priv_bio, &priv_pem);

    assert_int_equal(jwtd_key_from_pem(pub_pem, (size_t)pub_len, 0, &key),
                     JWTD_ERR_INVALID_KEY_FORMAT);
    assert_null(key);
    assert_int_equal(jwtd_key_from_pem(priv_pem, (size_t)priv_len, 0, &key),
                     JWTD_ERR_INVALID_KEY_FORMAT);
    assert_int_equal(jwtd_keyset_parse(pub_pem, (size_t)pub_len, 0, &set),
                     JWTD_ERR_INVALID_KEY_FORMAT);
    assert_null(set);

    assert_int_equal(jwtd_key_from_pem(pub_pem, (size_t)pub_len, JWTD_KEY_ALLOW_WEAK, &key),
                     JWTD_OK);
    assert_int_equal(jwtd_key_bits(key), 1024);
    assert_int_equal(jwtd_key_public_jwk(key, &jwk), JWTD_OK);
    {
        jwtd_key *again = NULL;

        assert_int_equal(jwtd_key_from_jwk(jwk, strlen(jwk), 0, &again),
                         JWTD_ERR_INVALID_KEY_FORMAT);
        assert_int_equal(jwtd_key_from_jwk(jwk, strlen(jwk), JWTD_KEY_ALLOW_WEAK, &again), JWTD_OK);
        jwtd_key_free(again);
    }
    set = tu_set1(key);
    tok = tu_jwt("{\"alg\":\"RS256\"}", CLAIMS_OK, &s);
    assert_int_equal(tu_verify(tok, set, v, &err), JWTD_OK);

    free(tok);
    jwtd_free(jwk);
    jwtd_keyset_free(set);
    jwtd_key_free(key);
    jwtd_validation_free(v);
    BIO_free(pub_bio);
    BIO_free(priv_bio);
    EVP_PKEY_free(pkey);
}

/* HMAC secrets shorter than 32 bytes: refused unless ALLOW_WEAK. */
static void test_weak_secret(void **state)
{
    static const unsigned char secret[16] = "0123456789abcdef";
    jwtd_key *key = NULL;

    (void)state;
    assert_int_equal(jwtd_key_from_secret(secret, sizeof secret, 0, &key),
                     JWTD_ERR_INVALID_KEY_FORMAT);
    assert_null(key);
    assert_int_equal(jwtd_key_from_secret(secret, sizeof secret, JWTD_KEY_ALLOW_WEAK, &key),
                     JWTD_OK);
    assert_int_equal(jwtd_key_kty(key), JWTD_KTY_OCT);
    jwtd_key_free(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_table),      cmocka_unit_test(test_size_limit_boundary),
        cmocka_unit_test(test_default_size_limit), cmocka_unit_test(test_weak_rsa_key),
        cmocka_unit_test(test_weak_secret),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
