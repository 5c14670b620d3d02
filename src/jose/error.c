/* Error kinds: stable names (part of the CLI contract) and the detail record. */
#include <string.h>

#include "internal.h"

static const char *const err_names[JWTD_ERR_COUNT] = {
    [JWTD_OK] = "Ok",
    [JWTD_ERR_INVALID_TOKEN] = "InvalidToken",
    [JWTD_ERR_INVALID_SIGNATURE] = "InvalidSignature",
    [JWTD_ERR_EXPIRED_SIGNATURE] = "ExpiredSignature",
    [JWTD_ERR_IMMATURE_SIGNATURE] = "ImmatureSignature",
    [JWTD_ERR_INVALID_AUDIENCE] = "InvalidAudience",
    [JWTD_ERR_INVALID_ISSUER] = "InvalidIssuer",
    [JWTD_ERR_INVALID_SUBJECT] = "InvalidSubject",
    [JWTD_ERR_MISSING_REQUIRED_CLAIM] = "MissingRequiredClaim",
    [JWTD_ERR_INVALID_ALGORITHM] = "InvalidAlgorithm",
    [JWTD_ERR_INVALID_KEY_FORMAT] = "InvalidKeyFormat",
    [JWTD_ERR_KEY_NOT_FOUND] = "KeyNotFound",
    [JWTD_ERR_INVALID_TYPE] = "InvalidType",
    [JWTD_ERR_UNSUPPORTED_CRITICAL] = "UnsupportedCritical",
    [JWTD_ERR_TOKEN_TOO_LARGE] = "TokenTooLarge",
    [JWTD_ERR_INVALID_ARGUMENT] = "InvalidArgument",
    [JWTD_ERR_NO_MEMORY] = "NoMemory",
    [JWTD_ERR_CRYPTO] = "CryptoError",
};

const char *jwtd_err_name(jwtd_err err)
{
    if ((unsigned)err >= JWTD_ERR_COUNT)
        return "UnknownError";
    return err_names[err];
}

void jose_set_error(jwtd_error *err, jwtd_err kind, const char *claim, const char *reason)
{
    if (err != NULL) {
        err->kind = kind;
        err->claim[0] = '\0';
        if (claim != NULL) {
            size_t n = strnlen(claim, sizeof err->claim - 1);
            memcpy(err->claim, claim, n);
            err->claim[n] = '\0';
        }
        err->reason = reason != NULL ? reason : jwtd_err_name(kind);
    }
}

void jwtd_free(void *p) { free(p); }
