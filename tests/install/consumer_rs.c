/* A program outside the jwtd tree, built only from the installed libjwtd-rs header, libraries
 * and pkg-config file: refuses http:// JWKS URLs by default, accepts an https:// one (nothing is
 * fetched until a token comes), and answers a request without a token with the RFC 6750 401. */
#include <jwtd/jwtd_rs.h>
#include <stdio.h>
#include <string.h>

/* Prints what failed; 1 when it did. */
static int check(int ok, const char *what)
{
    if (!ok)
        fprintf(stderr, "consumer_rs: %s\n", what);
    return ok ? 0 : 1;
}

int main(void)
{
    jwtd_rs_jwks_options o;
    jwtd_rs_jwks_options_init(&o);
    jwtd_rs_jwks *jwks = NULL;
    jwtd_validation *v = NULL;
    int failures = 0;
    failures += check(jwtd_rs_jwks_new("http://issuer.invalid/jwks.json", &o, &jwks) ==
                          JWTD_RS_ERR_INVALID_ARGUMENT,
                      "an http:// JWKS URL was accepted by default");
    failures += check(jwtd_rs_jwks_new("https://issuer.invalid/jwks.json", &o, &jwks) == JWTD_RS_OK,
                      "an https:// JWKS URL was refused");
    failures += check(jwtd_validation_new(&v) == JWTD_OK &&
                          jwtd_validation_allow_alg(v, JWTD_ALG_EDDSA) == JWTD_OK,
                      "validation");
    jwtd_rs_policy policy = {.realm = "api", .validation = v, .required_role = "reader"};
    jwtd_rs_verdict verdict;
    failures += check(jwtd_rs_authorize(jwks, &policy, NULL, &verdict) == 401 &&
                          strcmp(verdict.www_authenticate, "Bearer realm=\"api\"") == 0,
                      "a request without a token did not get the RFC 6750 401");
    jwtd_rs_verdict_clear(&verdict);
    jwtd_rs_jwks_free(jwks);
    jwtd_validation_free(v);
    if (failures == 0)
        printf("consumer_rs: ok\n");
    return failures == 0 ? 0 : 1;
}
