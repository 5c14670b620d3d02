/* Strict JSON for JOSE: jansson with duplicate members rejected, UTF-8 checked and a
 * nesting-depth limit (jansson alone allows 2048 levels; tokens never need more than a few). */
#include <stdlib.h>

#include "internal.h"

/* Depth of v: a scalar is 0, {} or [] is 1. Stops counting once max is exceeded. */
static size_t json_depth(const json_t *v, size_t max)
{
    size_t deepest = 0, d;
    const char *key;
    json_t *child;
    size_t i;

    if (!json_is_object(v) && !json_is_array(v))
        return 0;
    if (max == 0) /* a container where none may be left */
        return 1;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, key, child) {
            d = json_depth(child, max - 1);
            if (d > deepest)
                deepest = d;
            if (deepest >= max)
                break;
        }
        return deepest + 1;
    }
    if (json_is_array(v)) {
        json_array_foreach(v, i, child) {
            d = json_depth(child, max - 1);
            if (d > deepest)
                deepest = d;
            if (deepest >= max)
                break;
        }
        return deepest + 1;
    }
    return 0; /* not reached: v is an object or an array */
}

json_t *jose_json_parse(const char *buf, size_t len, size_t max_depth)
{
    json_error_t jerr;
    json_t *v = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);

    if (v != NULL && json_depth(v, max_depth) > max_depth) {
        json_decref(v);
        return NULL;
    }
    return v;
}

char *jose_json_dump(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
}
