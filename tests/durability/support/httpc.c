/* See httpc.h. */
#include "httpc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>

#include "testutil.h"

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    httpc_resp *r = ud;
    return testutil_append(&r->body, &r->len, HTTPC_MAX_BODY, data, size * n, NULL) ? size * n : 0;
}

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
    httpc_resp *r = ud;
    size_t len = size * n;
    if (len >= 12 && strncasecmp(data, "Retry-After:", 12) == 0)
        r->retry_after = true;
    if (len >= 13 && strncasecmp(data, "Content-Type:", 13) == 0) {
        const char *v = data + 13;
        size_t left = len - 13;
        while (left > 0 && (*v == ' ' || *v == '\t')) {
            v++;
            left--;
        }
        r->json_type = left >= 16 && strncasecmp(v, "application/json", 16) == 0;
    }
    return len;
}

long httpc_request(const char *method, const char *base, const char *path, const char *bearer,
                   const char *json, httpc_resp *out)
{
    return httpc_request_from(method, base, path, bearer, json, NULL, out);
}

long httpc_request_from(const char *method, const char *base, const char *path, const char *bearer,
                        const char *json, const char *client, httpc_resp *out)
{
    httpc_resp local = {0}, *r = out != NULL ? out : &local;
    memset(r, 0, sizeof *r);
    CURL *c = curl_easy_init();
    if (c == NULL)
        return 0;
    char url[512], auth[4200], xff[96];
    snprintf(url, sizeof url, "%s%s", base, path);
    struct curl_slist *headers = NULL;
    if (json != NULL)
        headers = curl_slist_append(headers, "Content-Type: application/json");
    if (bearer != NULL) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer);
        headers = curl_slist_append(headers, auth);
    }
    if (client != NULL) {
        snprintf(xff, sizeof xff, "X-Forwarded-For: %s", client);
        headers = curl_slist_append(headers, xff);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)HTTPC_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (json != NULL)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    else
        r->status = 0;
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    long status = r->status;
    if (out == NULL)
        httpc_resp_free(&local);
    return status;
}

void httpc_resp_free(httpc_resp *r)
{
    if (r == NULL)
        return;
    free(r->body);
    memset(r, 0, sizeof *r);
}

char *httpc_json_string(const httpc_resp *r, const char *key)
{
    json_t *doc = r->body != NULL ? json_loads(r->body, 0, NULL) : NULL;
    const char *s = json_string_value(json_object_get(doc, key));
    char *copy = s != NULL ? strdup(s) : NULL;
    json_decref(doc);
    return copy;
}

bool httpc_is_error(const httpc_resp *r, const char *message)
{
    json_t *doc = r->body != NULL ? json_loads(r->body, 0, NULL) : NULL;
    const char *s = json_string_value(json_object_get(doc, "error"));
    bool ok = r->json_type && json_is_object(doc) && json_object_size(doc) == 1 && s != NULL &&
              strcmp(s, message) == 0;
    json_decref(doc);
    return ok;
}
