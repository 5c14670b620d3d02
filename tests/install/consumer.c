/* A program outside the jwtd tree, built only from the installed headers, library and
 * pkg-config file: signs an HS256 token, verifies it, reads a claim, and checks that a
 * tampered copy is refused. argv[1] is the version pkg-config reported. */
#include <jwtd/jwtd.h>
#include <stdio.h>
#include <string.h>

static int check(int ok, const char *what)
{
    if (!ok)
        fprintf(stderr, "consumer: %s\n", what);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    static const char secret[] = "0123456789abcdef0123456789abcdef";
    jwtd_key *key = NULL;
    jwtd_keyset *keys = NULL;
    jwtd_claims *claims = NULL;
    jwtd_validation *v = NULL;
    jwtd_token *tok = NULL;
    jwtd_error err = {0};
    char *token = NULL;
    const char *sub = NULL;
    int failures = 0;

    failures += check(argc == 2 && strcmp(argv[1], JWTD_VERSION) == 0,
                      "header JWTD_VERSION differs from the .pc Version");
    failures += check(strcmp(jwtd_err_name(JWTD_ERR_EXPIRED_SIGNATURE), "ExpiredSignature") == 0,
                      "jwtd_err_name");
    if (jwtd_claims_new(&claims) != JWTD_OK || jwtd_validation_new(&v) != JWTD_OK ||
        jwtd_key_from_secret(secret, sizeof secret - 1, 0, &key) != JWTD_OK ||
        jwtd_keyset_new(&key, 1, &keys) != JWTD_OK ||
        jwtd_claims_set_string(claims, "sub", "consumer") != JWTD_OK ||
        jwtd_claims_set_exp_in(claims, 300) != JWTD_OK ||
        jwtd_sign(key, JWTD_ALG_HS256, NULL, claims, &token) != JWTD_OK ||
        jwtd_validation_allow_alg(v, JWTD_ALG_HS256) != JWTD_OK) {
        fprintf(stderr, "consumer: set-up or sign failed\n");
        return 1;
    }

    failures += check(jwtd_verify(token, strlen(token), keys, v, &tok, &err) == JWTD_OK,
                      "verify of a fresh token");
    failures += check(tok != NULL && jwtd_token_claim_string(tok, "sub", &sub) == JWTD_OK &&
                          strcmp(sub, "consumer") == 0,
                      "claim sub");
    jwtd_token_free(tok);
    tok = NULL;

    /* A character in the middle of the signature: still canonical base64url, wrong MAC. */
    size_t at = strlen(token) - 10;
    token[at] = token[at] == 'A' ? 'B' : 'A';
    failures += check(jwtd_verify(token, strlen(token), keys, v, &tok, &err) ==
                              JWTD_ERR_INVALID_SIGNATURE &&
                          tok == NULL && err.kind == JWTD_ERR_INVALID_SIGNATURE,
                      "tampered token not refused as InvalidSignature");

    jwtd_free(token);
    jwtd_validation_free(v);
    jwtd_claims_free(claims);
    jwtd_keyset_free(keys);
    jwtd_key_free(key);
    if (failures == 0)
        printf("consumer: libjwtd %s signs and verifies\n", JWTD_VERSION);
    return failures == 0 ? 0 : 1;
}
