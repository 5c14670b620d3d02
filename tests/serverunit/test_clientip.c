/* The client address of the abuse limits (src/server/clientip.c): the socket peer, unless the
 * peer is a trusted proxy, then the right-most X-Forwarded-For address that is not itself a
 * trusted proxy; anything malformed falls back to the peer. IPv4 and IPv6, CIDRs, IPv4-mapped
 * addresses, and IPv6 clients keyed by their /64. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "server/server.h"

static srv_proxies proxies_of(const char *text)
{
    srv_proxies p;
    char bad[64] = "";
    if (srv_proxies_parse(text, &p, bad, sizeof bad) != 0)
        fail_msg("'%s' refused at '%s'", text, bad);
    return p;
}

/* The key srv_client_ip gives, as the key of the address `want`. */
static void expect_client(const srv_proxies *p, const char *peer, const char *xff, size_t count,
                          const char *want)
{
    srv_ip got, exp;
    assert_true(srv_client_ip(p, peer, xff, xff != NULL ? strlen(xff) : 0, count, &got));
    assert_true(srv_ip_parse(want, strlen(want), &exp));
    if (memcmp(&got, &exp, sizeof got) != 0)
        fail_msg("peer %s, X-Forwarded-For '%s': not the key of %s", peer, xff ? xff : "(none)",
                 want);
}

static void test_parse_proxies(void **state)
{
    (void)state;
    srv_proxies p = proxies_of("");
    assert_int_equal(p.n, 0);
    p = proxies_of(" 10.0.0.0/8 ,\t192.168.1.7, ::1, fd00::/8, ::ffff:172.16.0.0/108");
    assert_int_equal(p.n, 5);
    assert_int_equal(p.v[0].bits, 8);
    assert_int_equal(p.v[1].bits, 32);
    assert_int_equal(p.v[2].bits, 128);
    assert_int_equal(p.v[4].bits, 12); /* an IPv4-mapped prefix counts in IPv4 bits */
    char bad[64];
    static const char *const refused[] = {
        "10.0.0.0/", "10.0.0.0/x", "10.0.0.0/-1", "::1/129",           "10.0.0.1/8/8",
        "1.2.3",     "1.2.3.4:80", "[::1]",       "::ffff:1.2.3.4/95", "a,b"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (srv_proxies_parse(refused[i], &p, bad, sizeof bad) == 0)
            fail_msg("'%s' accepted", refused[i]);
    char many[2048] = "";
    for (int i = 0; i <= SRV_MAX_PROXIES; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%s10.0.0.%d", i ? "," : "", i);
    assert_int_equal(srv_proxies_parse(many, &p, bad, sizeof bad), -1);
}

static void test_untrusted_peer(void **state)
{
    (void)state;
    srv_proxies none = proxies_of(""), other = proxies_of("10.0.0.1");
    /* Without trusted proxies, or from a peer that is not one, the header is ignored. */
    expect_client(&none, "127.0.0.1", "203.0.113.5", 1, "127.0.0.1");
    expect_client(&other, "127.0.0.1", "203.0.113.5", 1, "127.0.0.1");
    expect_client(&other, "10.0.0.2", "203.0.113.5", 1, "10.0.0.2");
    expect_client(&none, "::1", NULL, 0, "::1");
    srv_ip ip;
    assert_false(srv_client_ip(&none, "", NULL, 0, 0, &ip));
    assert_false(srv_client_ip(&none, "not an address", NULL, 0, 0, &ip));
}

static void test_trusted_peer(void **state)
{
    (void)state;
    srv_proxies p = proxies_of("127.0.0.1, 10.0.0.0/8, fd00::/8");
    expect_client(&p, "127.0.0.1", "203.0.113.5", 1, "203.0.113.5");
    expect_client(&p, "127.0.0.1", " 203.0.113.5 ", 1, "203.0.113.5");
    /* Right-most untrusted: proxies in the chain are skipped, the client's own claims
     * (left of it) are never believed, even when they are garbage. */
    expect_client(&p, "127.0.0.1", "198.51.100.1, 203.0.113.5, 10.1.2.3", 1, "203.0.113.5");
    expect_client(&p, "127.0.0.1", "garbage, 203.0.113.5,10.0.0.9", 1, "203.0.113.5");
    expect_client(&p, "127.0.0.1", "2001:db8::7, fd12::1", 1, "2001:db8::7");
    /* Every address a trusted proxy: the left-most. */
    expect_client(&p, "127.0.0.1", "10.0.0.1, 10.0.0.2", 1, "10.0.0.1");
    /* Malformed where it matters, several headers: the peer. */
    expect_client(&p, "127.0.0.1", "203.0.113.5, garbage", 1, "127.0.0.1");
    expect_client(&p, "127.0.0.1", "203.0.113.5:4711", 1, "127.0.0.1");
    expect_client(&p, "127.0.0.1", "203.0.113.5,", 1, "127.0.0.1");
    expect_client(&p, "127.0.0.1", "", 1, "127.0.0.1");
    expect_client(&p, "127.0.0.1", "203.0.113.5", 2, "127.0.0.1");
    /* An IPv4-mapped peer is its IPv4 address. */
    expect_client(&p, "::ffff:127.0.0.1", "203.0.113.5", 1, "203.0.113.5");
    expect_client(&p, "127.0.0.1", "::ffff:203.0.113.5", 1, "203.0.113.5");
    /* More hops than looked at: the peer. */
    char chain[2048] = "203.0.113.5";
    for (int i = 0; i < SRV_MAX_XFF_HOPS; i++)
        snprintf(chain + strlen(chain), sizeof chain - strlen(chain), ", 10.0.0.%d", i % 250);
    expect_client(&p, "127.0.0.1", chain, 1, "127.0.0.1");
}

static void test_ipv6_prefix(void **state)
{
    (void)state;
    srv_ip a, b, c, d;
    assert_true(srv_ip_parse("2001:db8::1", 11, &a));
    assert_true(srv_ip_parse("2001:db8::ffff:2", 16, &b));
    assert_true(srv_ip_parse("2001:db8:0:1::1", 15, &c));
    assert_true(srv_ip_parse("0.0.32.1", 8, &d));
    assert_memory_equal(&a, &b, sizeof a);     /* one /64: one client */
    assert_memory_not_equal(&a, &c, sizeof a); /* the next /64 */
    assert_memory_not_equal(&a, &d, sizeof a); /* families never mix */
    assert_false(srv_ip_parse("2001:db8::1%eth0", 16, &a));
    assert_false(srv_ip_parse("1.2.3.4", 0, &a));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_proxies),
        cmocka_unit_test(test_untrusted_peer),
        cmocka_unit_test(test_trusted_peer),
        cmocka_unit_test(test_ipv6_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
