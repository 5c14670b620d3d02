/* The libjwtd-rs program of docs/LIBRARY.md, compiled and run by CTest (example.rs_doc) and
 * kept identical to the guide (example.rs_doc_in_sync): what a resource server answers for
 * one Authorization header value.  Usage: rs_check JWKS_URL [AUTHORIZATION] */
#include <jwtd/jwtd_rs.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3)
        return 2;
    /* Once per process: the remote JWKS (HTTPS only by default) and what a token must be. */
    jwtd_rs_jwks *jwks = NULL;
    jwtd_validation *v = NULL;
    if (jwtd_rs_jwks_new(argv[1], NULL, &jwks) != JWTD_RS_OK || jwtd_validation_new(&v) ||
        jwtd_validation_allow_alg(v, JWTD_ALG_RS256) ||
        jwtd_validation_add_issuer(v, "https://auth.example.com") ||
        jwtd_validation_add_audience(v, "orders") || jwtd_validation_set_typ(v, "at+jwt"))
        return 1;
    jwtd_rs_policy policy = {.realm = "orders", .validation = v, .required_role = "clerk"};

    /* Per request, from any thread: the header value (NULL when absent) to a verdict. */
    jwtd_rs_verdict verdict;
    if (jwtd_rs_authorize(jwks, &policy, argc == 3 ? argv[2] : NULL, &verdict) == 200) {
        const char *sub = "";
        jwtd_token_claim_string(verdict.token, "sub", &sub);
        printf("200 hello %s\n", sub);
    } else {
        /* Send exactly this: the status, WWW-Authenticate (when not empty), the JSON body. */
        printf("%d\nWWW-Authenticate: %s\n%s\n", verdict.status, verdict.www_authenticate,
               verdict.body);
    }
    jwtd_rs_verdict_clear(&verdict);
    jwtd_rs_jwks_free(jwks);
    jwtd_validation_free(v);
    return 0;
}
