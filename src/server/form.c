/* The OAuth 2.0 inputs that are not JSON: form-urlencoded bodies and the Basic credentials
 * of client_secret_basic (form.h). Every loop is bounded by its input's length; nothing is
 * allocated; decoded values go to the caller's buffers or are refused when they do not fit. */
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "form.h"
#include "reqparse.h"

bool srv_is_form_content_type(const char *value, size_t len)
{
    return srv_is_content_type(value, len, "application/x-www-form-urlencoded");
}

/* The value of hex digit c, or -1. */
static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool srv_form_decode(const char *in, size_t len, char *out, size_t cap, size_t *out_len)
{
    size_t n = 0;

    if (cap == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '%') {
            int hi = i + 2 < len ? hex_value(in[i + 1]) : -1;
            int lo = i + 2 < len ? hex_value(in[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return false;
            c = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (n + 1 >= cap)
            return false;
        out[n++] = c;
    }
    out[n] = '\0';
    if (out_len != NULL)
        *out_len = n;
    return true;
}

/* One pair of a form: the raw (still encoded) name and value. */
typedef struct form_pair {
    const char *name, *value;
    size_t name_len, value_len;
} form_pair;

/* The pair at body[*at..] up to the next '&' (skipping empty ones); false at the end. */
static bool next_pair(const char *body, size_t len, size_t *at, form_pair *p)
{
    while (*at < len && body[*at] == '&')
        (*at)++;
    if (*at >= len)
        return false;
    size_t start = *at, end = start;
    while (end < len && body[end] != '&')
        end++;
    const char *eq = memchr(body + start, '=', end - start);
    p->name = body + start;
    p->name_len = eq != NULL ? (size_t)(eq - p->name) : end - start;
    p->value = eq != NULL ? eq + 1 : body + end;
    p->value_len = eq != NULL ? (size_t)(body + end - p->value) : 0;
    *at = end;
    return true;
}

/* Whether every '%' of s[0..len) starts a %XX escape: a value's syntax, without decoding it. */
static bool escapes_ok(const char *s, size_t len)
{
    for (const char *p = memchr(s, '%', len); p != NULL;
         p = memchr(p + 1, '%', len - (size_t)(p + 1 - s))) {
        size_t i = (size_t)(p - s);
        if (i + 2 >= len || hex_value(p[1]) < 0 || hex_value(p[2]) < 0)
            return false;
    }
    return true;
}

bool srv_form_valid(const char *body, size_t len)
{
    char names[SRV_FORM_MAX_PAIRS][SRV_FORM_MAX_NAME + 1];
    size_t at = 0, count = 0;
    form_pair p;

    while (next_pair(body, len, &at, &p)) {
        size_t n = 0;
        if (!escapes_ok(p.value, p.value_len))
            return false;
        if (count == SRV_FORM_MAX_PAIRS ||
            !srv_form_decode(p.name, p.name_len, names[count], sizeof names[count], &n) || n == 0 ||
            memchr(names[count], '\0', n) != NULL)
            return false;
        for (size_t i = 0; i < count; i++)
            if (strcmp(names[i], names[count]) == 0)
                return false;
        count++;
    }
    return true;
}

int srv_form_get(const char *body, size_t len, const char *name, char *out, size_t cap,
                 size_t *out_len)
{
    char decoded[SRV_FORM_MAX_NAME + 1];
    size_t at = 0, n = 0;
    form_pair p;

    while (next_pair(body, len, &at, &p)) {
        if (!srv_form_decode(p.name, p.name_len, decoded, sizeof decoded, &n) ||
            strcmp(decoded, name) != 0)
            continue;
        if (!srv_form_decode(p.value, p.value_len, out, cap, &n) || memchr(out, '\0', n) != NULL)
            return -1;
        if (out_len != NULL)
            *out_len = n;
        return 1;
    }
    return 0;
}

int srv_parse_basic(const char *value, size_t len, char *id, size_t id_cap, size_t *id_len,
                    char *secret, size_t secret_cap, size_t *secret_len)
{
    /* The base64 of the longest id and secret we take, percent-encoded (3 bytes each). */
    char raw[3 * (64 + 256) + 2];
    size_t i = 0, raw_len = 0;

    if (len < 6 || strncasecmp(value, "Basic", 5) != 0 || value[5] != ' ')
        return 0;
    for (i = 5; i < len && value[i] == ' '; i++)
        ;
    size_t end = len;
    while (end > i && (value[end - 1] == ' ' || value[end - 1] == '\t'))
        end--;
    if (end == i || sodium_base642bin((unsigned char *)raw, sizeof raw - 1, value + i, end - i,
                                      NULL, &raw_len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
        return -1;
    raw[raw_len] = '\0';
    const char *colon = memchr(raw, ':', raw_len);
    if (colon == NULL || colon == raw ||
        !srv_form_decode(raw, (size_t)(colon - raw), id, id_cap, id_len) ||
        !srv_form_decode(colon + 1, raw_len - (size_t)(colon + 1 - raw), secret, secret_cap,
                         secret_len) ||
        memchr(id, '\0', *id_len) != NULL || memchr(secret, '\0', *secret_len) != NULL)
        return -1;
    return 1;
}
