/* The JWS algorithm table (RFC 7518 §3.1, RFC 8037): names and the parameters each needs. */
#include <openssl/obj_mac.h>
#include <string.h>

#include "internal.h"

static const jose_alg_info alg_table[JWTD_ALG_COUNT] = {
    [JWTD_ALG_HS256] = {"HS256", JOSE_FAM_HMAC, "SHA256", 32, 0, 0, 0},
    [JWTD_ALG_HS384] = {"HS384", JOSE_FAM_HMAC, "SHA384", 48, 0, 0, 1},
    [JWTD_ALG_HS512] = {"HS512", JOSE_FAM_HMAC, "SHA512", 64, 0, 0, 2},
    [JWTD_ALG_RS256] = {"RS256", JOSE_FAM_RSA, "SHA256", 32, 0, 0, -1},
    [JWTD_ALG_RS384] = {"RS384", JOSE_FAM_RSA, "SHA384", 48, 0, 0, -1},
    [JWTD_ALG_RS512] = {"RS512", JOSE_FAM_RSA, "SHA512", 64, 0, 0, -1},
    [JWTD_ALG_PS256] = {"PS256", JOSE_FAM_PSS, "SHA256", 32, 0, 0, -1},
    [JWTD_ALG_PS384] = {"PS384", JOSE_FAM_PSS, "SHA384", 48, 0, 0, -1},
    [JWTD_ALG_PS512] = {"PS512", JOSE_FAM_PSS, "SHA512", 64, 0, 0, -1},
    [JWTD_ALG_ES256] = {"ES256", JOSE_FAM_ECDSA, "SHA256", 32, NID_X9_62_prime256v1, 32, -1},
    [JWTD_ALG_ES384] = {"ES384", JOSE_FAM_ECDSA, "SHA384", 48, NID_secp384r1, 48, -1},
    [JWTD_ALG_ES512] = {"ES512", JOSE_FAM_ECDSA, "SHA512", 64, NID_secp521r1, 66, -1},
    [JWTD_ALG_EDDSA] = {"EdDSA", JOSE_FAM_EDDSA, NULL, 0, 0, 0, -1},
};

const jose_alg_info *jose_alg_info_get(jwtd_alg alg)
{
    if (alg <= JWTD_ALG_UNKNOWN || alg >= JWTD_ALG_COUNT)
        return NULL;
    return &alg_table[alg];
}

const char *jwtd_alg_name(jwtd_alg alg)
{
    const jose_alg_info *info = jose_alg_info_get(alg);
    return info != NULL ? info->name : "unknown";
}

jwtd_alg jwtd_alg_from_name(const char *name, size_t len)
{
    if (name == NULL)
        return JWTD_ALG_UNKNOWN;
    for (int a = JWTD_ALG_UNKNOWN + 1; a < JWTD_ALG_COUNT; a++) {
        if (strlen(alg_table[a].name) == len && memcmp(alg_table[a].name, name, len) == 0)
            return (jwtd_alg)a;
    }
    return JWTD_ALG_UNKNOWN;
}
