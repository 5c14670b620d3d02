/* The case-file library of tests/cli and tests/http: sections and JSON checks (casefile.h).
 * Every malformed check is a failure with a reason, never a pass: a line a driver cannot read
 * would otherwise be a check that cannot fail. */
#include "casefile.h"

#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool say(char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes a reason; returns false (the check failed). */
static bool say(char *why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, CASEFILE_MAX_WHY, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    return false;
}

/* ---- The file and its sections ---- */

char *casefile_slurp(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = malloc(max + 1);
    size_t n = buf != NULL ? fread(buf, 1, max + 1, f) : 0;
    fclose(f);
    if (buf == NULL || n > max) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    if (len != NULL)
        *len = n;
    return buf;
}

int casefile_load(casefile *cf, const char *path, char *why)
{
    memset(cf, 0, sizeof *cf);
    cf->raw = casefile_slurp(path, CASEFILE_MAX_BYTES, NULL);
    if (cf->raw == NULL) {
        say(why, "%s: cannot read it (or larger than %u bytes)", path, CASEFILE_MAX_BYTES);
        return -1;
    }
    int lineno = 0;
    for (char *line = cf->raw; line != NULL;) {
        lineno++;
        char *nl = strchr(line, '\n');
        char *next = nl != NULL ? nl + 1 : NULL;
        if (strncmp(line, "--- ", 4) == 0) {
            if (cf->n == CASEFILE_MAX_SECTIONS) {
                say(why, "%s:%d: more than %d sections", path, lineno, CASEFILE_MAX_SECTIONS);
                return -1;
            }
            casefile_section *cur = &cf->sec[cf->n++];
            cur->line = lineno;
            if (nl != NULL)
                *nl = '\0';
            if (sscanf(line + 4, "%31s %255[^\n]", cur->name, cur->arg) < 1) {
                say(why, "%s:%d: bad section line", path, lineno);
                return -1;
            }
            cur->text = nl != NULL ? nl + 1 : line + strlen(line);
            /* The previous section ends where this line begins, its last newline kept. */
            line[0] = '\0';
        }
        line = next;
    }
    if (cf->n == 0) {
        say(why, "%s: no sections", path);
        return -1;
    }
    return 0;
}

void casefile_free(casefile *cf)
{
    free(cf->raw);
    memset(cf, 0, sizeof *cf);
}

const casefile_section *casefile_find(const casefile *cf, const char *name)
{
    for (size_t i = 0; i < cf->n; i++)
        if (strcmp(cf->sec[i].name, name) == 0)
            return &cf->sec[i];
    return NULL;
}

bool casefile_has_word(const char *arg, const char *word)
{
    size_t wl = strlen(word);
    for (const char *s = strstr(arg, word); s != NULL; s = strstr(s + 1, word))
        if ((s == arg || s[-1] == ' ') && (s[wl] == '\0' || s[wl] == ' '))
            return true;
    return false;
}

/* ---- JSON ---- */

json_t *casefile_json_load(const char *text, size_t len, char *why)
{
    json_error_t e;
    json_t *doc =
        json_loadb(text != NULL ? text : "", len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
    if (doc == NULL)
        say(why, "%s (line %d)", e.text, e.line);
    return doc;
}

/* Whether the path is "." or non-empty segments joined by single dots. */
static bool path_well_formed(const char *path)
{
    if (strcmp(path, ".") == 0)
        return true;
    size_t len = strlen(path);
    return len > 0 && path[0] != '.' && path[len - 1] != '.' && strstr(path, "..") == NULL;
}

json_t *casefile_json_path(json_t *root, const char *path)
{
    if (root == NULL || !path_well_formed(path))
        return NULL;
    if (strcmp(path, ".") == 0)
        return root;
    json_t *cur = root;
    for (const char *seg = path; cur != NULL && seg != NULL;) {
        const char *dot = strchr(seg, '.');
        size_t sl = dot != NULL ? (size_t)(dot - seg) : strlen(seg);
        char key[256];
        if (sl >= sizeof key)
            return NULL;
        memcpy(key, seg, sl);
        key[sl] = '\0';
        if (json_is_array(cur)) {
            /* Digits only: no sign, blank or base prefix sneaks in through strtoul. */
            if (strspn(key, "0123456789") != sl)
                return NULL;
            cur = json_array_get(cur, strtoul(key, NULL, 10));
        } else {
            cur = json_object_get(cur, key);
        }
        seg = dot != NULL ? dot + 1 : NULL;
    }
    return cur;
}

static const struct {
    const char *name;
    json_type type;
} exact_types[] = {{"object", JSON_OBJECT},   {"array", JSON_ARRAY}, {"string", JSON_STRING},
                   {"integer", JSON_INTEGER}, {"real", JSON_REAL},   {"true", JSON_TRUE},
                   {"false", JSON_FALSE},     {"null", JSON_NULL}};

bool casefile_json_type_known(const char *type)
{
    if (strcmp(type, "number") == 0 || strcmp(type, "boolean") == 0)
        return true;
    for (size_t i = 0; i < sizeof exact_types / sizeof exact_types[0]; i++)
        if (strcmp(type, exact_types[i].name) == 0)
            return true;
    return false;
}

bool casefile_json_has_type(const json_t *v, const char *type)
{
    if (strcmp(type, "number") == 0)
        return json_is_number(v);
    if (strcmp(type, "boolean") == 0)
        return json_is_boolean(v);
    for (size_t i = 0; i < sizeof exact_types / sizeof exact_types[0]; i++)
        if (strcmp(type, exact_types[i].name) == 0)
            return json_typeof(v) == exact_types[i].type;
    return false;
}

/* The operator's check of v (present) against operand; have is v as compact JSON. */
static bool check_value(const json_t *v, const char *path, const char *op, const char *operand,
                        const char *have, char *why)
{
    if (strcmp(op, "=") == 0 || strcmp(op, "!=") == 0) {
        bool want_equal = op[0] == '=';
        json_t *want = json_loads(operand, JSON_DECODE_ANY, NULL);
        if (want == NULL)
            return say(why, "json %s: the expected value is not JSON: %s", path, operand);
        bool equal = json_equal(v, want);
        json_decref(want);
        return equal == want_equal || say(why, "json %s: is %s, expected %s%s", path, have,
                                          want_equal ? "" : "not ", operand);
    }
    if (strcmp(op, ":") == 0)
        return casefile_json_has_type(v, operand) ||
               say(why, "json %s: is %s, expected type %s", path, have, operand);
    if (strcmp(op, "~") == 0) {
        regex_t re;
        if (regcomp(&re, operand, REG_EXTENDED | REG_NOSUB) != 0)
            return say(why, "json %s: bad regex '%s'", path, operand);
        bool match = json_is_string(v) && regexec(&re, json_string_value(v), 0, NULL, 0) == 0;
        regfree(&re);
        return match ||
               say(why, "json %s: is %s, expected a string matching %s", path, have, operand);
    }
    /* "#": the members of an array or object. */
    char *end;
    errno = 0;
    size_t want = strtoul(operand, &end, 10);
    if (operand[strspn(operand, "0123456789")] != '\0' || end == operand || errno != 0)
        return say(why, "json %s: bad count '%s'", path, operand);
    if (!json_is_array(v) && !json_is_object(v))
        return say(why, "json %s: is %s, expected an array or object of %zu", path, have, want);
    size_t n = json_is_array(v) ? json_array_size(v) : json_object_size(v);
    return n == want || say(why, "json %s: has %zu members, expected %zu", path, n, want);
}

bool casefile_json_check(json_t *root, const char *line, char *why)
{
    char path[256], op[3];
    int used = 0;
    if (sscanf(line, "%255s %2s%n", path, op, &used) != 2)
        return say(why, "bad json check '%s': PATH OP [OPERAND]", line);
    const char *operand = line + used;
    operand += strspn(operand, " \t");
    static const char *const ops[] = {"=", "!=", ":", "~", "#", "!"};
    size_t k = 0;
    while (k < sizeof ops / sizeof ops[0] && strcmp(op, ops[k]) != 0)
        k++;
    if (k == sizeof ops / sizeof ops[0])
        return say(why, "json %s: unknown operator '%s'", path, op);
    bool absence = op[0] == '!' && op[1] == '\0';
    if (absence != (operand[0] == '\0'))
        return say(why, "json %s: '%s' takes %s", path, op, absence ? "no operand" : "an operand");
    if (!path_well_formed(path))
        return say(why, "json %s: bad path (empty segment)", path);
    if (strcmp(op, ":") == 0 && !casefile_json_type_known(operand))
        return say(why, "json %s: unknown type '%s'", path, operand);
    if (root == NULL)
        return say(why, "json %s: the document is not JSON", path);
    json_t *v = casefile_json_path(root, path);
    if (absence)
        return v == NULL || say(why, "json %s: present, expected absent", path);
    if (v == NULL)
        return say(why, "json %s: absent", path);
    char *have = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    bool ok = check_value(v, path, op, operand, have != NULL ? have : "?", why);
    free(have);
    return ok;
}
