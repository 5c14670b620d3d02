/* picohttpparser, the parser h2o 2.2 reads every request head with. libh2o exports it (h2o's
 * own HTTP client calls it) but Debian installs no header for it: the struct and the
 * prototype below are picohttpparser's, unchanged since 2014. http_framing.c reads a head
 * again with it, so that the framing rules see exactly the fields h2o saw; the fuzz_framing
 * harness reads heads with it too. */
#ifndef JWTD_HTTP_PHR_H
#define JWTD_HTTP_PHR_H

#include <stddef.h>

struct phr_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

/* The head's length when complete, -2 when incomplete, -1 when malformed. */
int phr_parse_request(const char *buf, size_t len, const char **method, size_t *method_len,
                      const char **path, size_t *path_len, int *minor_version,
                      struct phr_header *headers, size_t *num_headers, size_t last_len);

#endif /* JWTD_HTTP_PHR_H */
