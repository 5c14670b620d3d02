/* The client address the abuse limits key on: the socket peer, or X-Forwarded-For when (and
 * only when) the peer is a configured trusted proxy. Addresses are parsed by inet_pton only. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "server.h"

#define ADDR_TEXT 64 /* longer than any IPv6 text form */

/* text[0..len) as an address: AF_INET (4 bytes) or AF_INET6 (16 bytes); an IPv4-mapped
 * IPv6 address becomes the IPv4 one. */
static bool parse_addr(const char *text, size_t len, int *family, unsigned char addr[16])
{
    char buf[ADDR_TEXT];
    if (len == 0 || len >= sizeof buf)
        return false;
    memcpy(buf, text, len);
    buf[len] = '\0';
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, buf, addr) == 1) {
        *family = AF_INET;
        return true;
    }
    struct in6_addr a6;
    if (inet_pton(AF_INET6, buf, &a6) != 1)
        return false;
    if (IN6_IS_ADDR_V4MAPPED(&a6)) {
        *family = AF_INET;
        memcpy(addr, a6.s6_addr + 12, 4);
    } else {
        *family = AF_INET6;
        memcpy(addr, a6.s6_addr, 16);
    }
    return true;
}

static void to_key(int family, const unsigned char addr[16], srv_ip *out)
{
    memset(out, 0, sizeof *out);
    out->family = family == AF_INET ? 4 : 6;
    memcpy(out->addr, addr, family == AF_INET ? 4 : 8); /* IPv6: its /64 */
}

bool srv_ip_parse(const char *text, size_t len, srv_ip *out)
{
    int family;
    unsigned char addr[16];
    if (!parse_addr(text, len, &family, addr))
        return false;
    to_key(family, addr, out);
    return true;
}

static const char *skip_blanks(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

static const char *trim_end(const char *start, const char *p)
{
    while (p > start && (p[-1] == ' ' || p[-1] == '\t'))
        p--;
    return p;
}

/* "ADDR" or "ADDR/BITS" (BITS 0..32 or 0..128, decimal, no sign). */
static bool parse_cidr(const char *s, size_t len, srv_cidr *out)
{
    const char *slash = memchr(s, '/', len);
    size_t alen = slash != NULL ? (size_t)(slash - s) : len;
    if (!parse_addr(s, alen, &out->family, out->addr))
        return false;
    /* An IPv4-mapped prefix (::ffff:10.0.0.0/104) is written in IPv6 bits. */
    bool mapped = out->family == AF_INET && memchr(s, ':', alen) != NULL;
    unsigned max = out->family == AF_INET && !mapped ? 32 : 128;
    out->bits = out->family == AF_INET ? 32 : 128;
    if (slash == NULL)
        return true;
    size_t blen = len - alen - 1;
    if (blen == 0 || blen > 3)
        return false;
    unsigned bits = 0;
    for (size_t i = 0; i < blen; i++) {
        if (slash[1 + i] < '0' || slash[1 + i] > '9')
            return false;
        bits = bits * 10 + (unsigned)(slash[1 + i] - '0');
    }
    if (bits > max)
        return false;
    if (mapped) {
        if (bits < 96)
            return false;
        bits -= 96;
    }
    out->bits = bits;
    return true;
}

int srv_proxies_parse(const char *text, srv_proxies *out, char *bad, size_t badlen)
{
    out->n = 0;
    const char *p = text, *end = text + strlen(text);
    if (skip_blanks(p, end) == end)
        return 0;
    while (p <= end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma != NULL ? comma : end;
        const char *s = skip_blanks(p, stop), *e = trim_end(s, stop);
        if (out->n == SRV_MAX_PROXIES || !parse_cidr(s, (size_t)(e - s), &out->v[out->n])) {
            snprintf(bad, badlen, "%.*s", (int)(e - s), s);
            return -1;
        }
        out->n++;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    return 0;
}

static bool in_cidr(const srv_cidr *c, int family, const unsigned char addr[16])
{
    if (c->family != family)
        return false;
    unsigned full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(c->addr, addr, full) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (c->addr[full] & mask) == (addr[full] & mask);
}

static bool trusted(const srv_proxies *proxies, int family, const unsigned char addr[16])
{
    for (size_t i = 0; i < proxies->n; i++)
        if (in_cidr(&proxies->v[i], family, addr))
            return true;
    return false;
}

bool srv_client_ip(const srv_proxies *proxies, const char *peer, const char *xff, size_t xff_len,
                   size_t xff_count, srv_ip *out)
{
    int family;
    unsigned char addr[16];
    if (!parse_addr(peer, strlen(peer), &family, addr))
        return false;
    to_key(family, addr, out);
    if (xff == NULL || xff_count != 1 || !trusted(proxies, family, addr))
        return true;
    /* Right to left: each trusted proxy appended the address it saw. The first address not
     * itself a trusted proxy is the client; what lies left of it the client wrote, and is
     * never looked at (garbage there cannot push every client onto the proxy's bucket). */
    const char *end = xff + xff_len;
    int f = 0;
    unsigned char a[16];
    for (int hop = 0; hop < SRV_MAX_XFF_HOPS; hop++) {
        const char *comma = end;
        while (comma > xff && comma[-1] != ',')
            comma--;
        const char *s = skip_blanks(comma, end), *e = trim_end(s, end);
        if (!parse_addr(s, (size_t)(e - s), &f, a))
            return true; /* malformed: the peer */
        if (!trusted(proxies, f, a) || comma == xff) {
            to_key(f, a, out); /* the client, or the left-most when all are proxies */
            return true;
        }
        end = comma - 1;
    }
    return true; /* too many hops: the peer */
}
