/* The case files of tests/cli and tests/http (in the manner of curl's tests/data): splitting a
 * file into "--- NAME ARGS" sections, and the JSON checks both drivers offer on a document
 * ("PATH = JSON", "PATH : TYPE", ...). One copy, so the two drivers cannot drift apart.
 * Library: jwtd_casefile (tests/support/CMakeLists.txt); tested by unit.casefile. */
#ifndef JWTD_TESTS_CASEFILE_H
#define JWTD_TESTS_CASEFILE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define CASEFILE_MAX_BYTES (256u * 1024u) /* a larger case file is refused */
#define CASEFILE_MAX_SECTIONS 128
#define CASEFILE_MAX_NAME 32  /* a section name, with its NUL */
#define CASEFILE_MAX_ARG 256  /* the rest of the "--- NAME" line, with its NUL */
#define CASEFILE_MAX_WHY 1024 /* a reason, with its NUL: the size of a why buffer */

typedef struct casefile_section {
    char name[CASEFILE_MAX_NAME];
    char arg[CASEFILE_MAX_ARG];
    char *text; /* the lines up to the next section line; points into the casefile's raw */
    int line;   /* of the "---" line, for messages */
} casefile_section;

typedef struct casefile {
    char *raw; /* the file, cut into the sections' texts */
    casefile_section sec[CASEFILE_MAX_SECTIONS];
    size_t n;
} casefile;

/* Reads a whole file of at most max bytes as a NUL-terminated string (*len bytes, len may be
 * NULL); NULL when it cannot be read or is larger. The caller frees it. */
char *casefile_slurp(const char *path, size_t max, size_t *len);

/* Splits the case file at path into sections (lines before the first are its description).
 * Returns 0, or -1 with the reason in why (CASEFILE_MAX_WHY bytes): unreadable, too large,
 * no sections, too many, a bad section line. Free with casefile_free either way. */
int casefile_load(casefile *cf, const char *path, char *why);
void casefile_free(casefile *cf);

/* The first section of that name, or NULL. */
const casefile_section *casefile_find(const casefile *cf, const char *name);

/* Whether the blank-separated words of arg include word. */
bool casefile_has_word(const char *arg, const char *word);

/* Parses a document the way both drivers read an answer: any JSON value, duplicate object
 * keys refused. NULL with the reason in why when it is not JSON. */
json_t *casefile_json_load(const char *text, size_t len, char *why);

/* The value at a dotted path ("user.roles.0": object members, and array indices written
 * in digits only); "." is the whole document. NULL when absent, or when the path is malformed
 * (an empty segment) — casefile_json_check tells those apart. */
json_t *casefile_json_path(json_t *root, const char *path);

/* Whether v is of the named type: string, integer, real, number, boolean, true, false, null,
 * object or array. An unknown name is false; casefile_json_type_known says which. */
bool casefile_json_has_type(const json_t *v, const char *type);
bool casefile_json_type_known(const char *type);

/* One check "PATH OP [OPERAND]" on the document root (which may be NULL: not JSON):
 *   = JSON / != JSON   the value equals / differs from the JSON value
 *   : TYPE             it has the type (casefile_json_has_type)
 *   ~ ERE              it is a string matching the extended regex
 *   # N                the array or object has N members
 *   !                  there is no value at PATH (no operand)
 * Returns true when it passes; otherwise false with the reason in why (CASEFILE_MAX_WHY
 * bytes), a malformed line (unknown operator or type, bad path, count, JSON or regex,
 * a missing or extra operand) included: a check that cannot be read fails. */
bool casefile_json_check(json_t *root, const char *line, char *why);

#endif
