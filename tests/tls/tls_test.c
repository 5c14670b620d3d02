/* The TLS of jwtd serve (--tls-cert/--tls-key), against a real server with a certificate made
 * at test time (EC P-256, self-signed, CN and SAN 127.0.0.1, through the OpenSSL API) and
 * libcurl as the client, always verifying the certificate (CAINFO = that certificate).
 *
 *   tls_test startup --jwtd BIN --work DIR [--serve-arg ARG]...
 *     Every start-up failure exits with its exact message and nothing of a key in the output:
 *     missing certificate or key file, a directory, a device or a file over 1 MiB given as one,
 *     a file without a certificate or a key, a key that does
 *     not match the certificate (same type, and another type), an encrypted key (refused, never
 *     a passphrase prompt), and only one of the two options.
 *
 *   tls_test serve --jwtd BIN --work DIR [--serve-arg ARG]...
 *     One server with TLS (one event loop, so bad and good clients share it):
 *     - it prints https://; a client trusting another certificate is refused (so verification
 *       is really on in every other request);
 *     - register, login (the refresh cookie carries Secure and HttpOnly), GET /me, refresh by
 *       cookie, all over TLS 1.2+ and HTTP/1.1 although the client offers h2 by ALPN;
 *     - a TLS 1.2 client gets an ECDHE + AEAD cipher; a TLS 1.2 client offering only CBC
 *       ciphers is refused; a TLS 1.0/1.1 client (security level 0 on its side) is refused;
 *     - 30 plain-HTTP requests to the TLS port each get no HTTP answer and a closed connection
 *       within a bound, a fresh TLS connection after them works, the keep-alive TLS connection
 *       opened before them still serves, and the server log grows by a bounded amount;
 *     - the server stops cleanly (exit 0 on SIGTERM) while that keep-alive connection is open.
 * Each check prints "ok" or "FAIL"; the exit status is 1 when any failed. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "testserver.h"
#include "testutil.h"

#define MAX_BODY 65536
#define REQUEST_TIMEOUT_S 20
#define PLAIN_TRIES 30        /* plain-HTTP requests sent to the TLS port */
#define PLAIN_CLOSE_MS 5000   /* each must see its connection closed within this */
#define PLAIN_LOG_LINES_MAX 5 /* log lines the plain-HTTP requests may add, all together */
#define STARTUP_TIMEOUT "20"  /* seconds: a start-up that should fail but serves instead */
#define USERNAME "tls-alice"
#define PASSWORD "correct horse battery staple"

static const char *jwtd;
static const char *work;
static const char *const *extra_args;
static size_t nextra;

/* ---- the certificates and keys, made here ---- */

static bool add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    bool ok = ext != NULL && X509_add_ext(x, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

/* A self-signed certificate for 127.0.0.1 (CN and SAN), valid from an hour ago for a day. */
static X509 *make_cert(EVP_PKEY *key)
{
    X509 *x = X509_new();
    if (x == NULL)
        return NULL;
    X509_NAME *name = X509_get_subject_name(x);
    bool ok =
        X509_set_version(x, 2) == 1 &&
        ASN1_INTEGER_set(X509_get_serialNumber(x), (long)time(NULL)) == 1 &&
        X509_gmtime_adj(X509_getm_notBefore(x), -3600) != NULL &&
        X509_gmtime_adj(X509_getm_notAfter(x), 86400) != NULL && X509_set_pubkey(x, key) == 1 &&
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"127.0.0.1", -1,
                                   -1, 0) == 1 &&
        X509_set_issuer_name(x, name) == 1 &&
        add_ext(x, NID_basic_constraints, "critical,CA:TRUE") &&
        add_ext(x, NID_key_usage, "critical,digitalSignature,keyCertSign") &&
        add_ext(x, NID_ext_key_usage, "serverAuth") &&
        add_ext(x, NID_subject_alt_name, "IP:127.0.0.1") && X509_sign(x, key, EVP_sha256()) > 0;
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* dir/name into out; a path too long for out becomes "" (and then fails to open). */
static void path_in(char *out, size_t len, const char *dir, const char *name)
{
    int n = snprintf(out, len, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= len)
        out[0] = '\0';
}

static bool write_cert(const char *path, X509 *x)
{
    FILE *f = fopen(path, "wb");
    bool ok = f != NULL && PEM_write_X509(f, x) == 1;
    if (f != NULL && fclose(f) != 0)
        ok = false;
    return ok;
}

/* The key as unencrypted PKCS#8 PEM (mode 0600), or encrypted with AES-256-CBC. */
static bool write_key(const char *path, EVP_PKEY *key, const char *passphrase)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return false;
    fchmod(fileno(f), 0600);
    bool ok = passphrase == NULL ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1
                                 : PEM_write_PrivateKey(f, key, EVP_aes_256_cbc(),
                                                        (const unsigned char *)passphrase,
                                                        (int)strlen(passphrase), NULL, NULL) == 1;
    if (fclose(f) != 0)
        ok = false;
    return ok;
}

static bool write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    bool ok = f != NULL && fputs(text, f) >= 0;
    if (f != NULL && fclose(f) != 0)
        ok = false;
    return ok;
}

/* An empty file extended to size bytes (zeros). */
static bool truncate_to(const char *path, off_t size)
{
    return write_text(path, "") && truncate(path, size) == 0;
}

/* cert.pem + key.pem in dir: a fresh P-256 key and its certificate. */
static bool make_pair(const char *dir, const char *cert_name, const char *key_name)
{
    char cert_path[4096], key_path[4096];
    path_in(cert_path, sizeof cert_path, dir, cert_name);
    path_in(key_path, sizeof key_path, dir, key_name);
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = key != NULL ? make_cert(key) : NULL;
    bool ok = x != NULL && write_cert(cert_path, x) && write_key(key_path, key, NULL);
    X509_free(x);
    EVP_PKEY_free(key);
    return ok;
}

static bool make_dir(const char *path) { return mkdir(path, 0700) == 0 || errno == EEXIST; }

/* ---- start-up failures ---- */

/* Runs `jwtd serve --listen 127.0.0.1:0 --db DIR/startup.sqlite ARGS... EXTRA...` under
 * timeout(1) and checks its exit status and that its output holds the line want, and no
 * PEM or key text. */
static void startup_case(const char *what, const char *dir, const char *const *args, size_t nargs,
                         int want_exit, const char *want_line)
{
    const char *argv[TESTSERVER_MAX_ARGS + 1];
    char db[4096];
    path_in(db, sizeof db, dir, "startup.sqlite");
    size_t n = 0;
    argv[n++] = "/usr/bin/timeout";
    argv[n++] = STARTUP_TIMEOUT;
    argv[n++] = jwtd;
    argv[n++] = "serve";
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--db";
    argv[n++] = db;
    for (size_t i = 0; i < nargs && n < TESTSERVER_MAX_ARGS; i++)
        argv[n++] = args[i];
    for (size_t i = 0; i < nextra && n < TESTSERVER_MAX_ARGS; i++)
        argv[n++] = extra_args[i];
    argv[n] = NULL;
    static char out[65536];
    int rc = testserver_run(argv, NULL, out, sizeof out);
    /* The wanted line, whole: at the start of the output or after a newline. */
    size_t wl = strlen(want_line);
    bool found = false;
    for (const char *p = out; (p = strstr(p, want_line)) != NULL; p++) {
        if ((p == out || p[-1] == '\n') && (p[wl] == '\n' || p[wl] == '\0')) {
            found = true;
            break;
        }
    }
    bool no_key_text = strstr(out, "-----BEGIN") == NULL && strstr(out, "PRIVATE KEY") == NULL;
    testutil_check(rc == want_exit && found && no_key_text,
                   "start-up: %s -> exit %d (want %d), line %s%s", what, rc, want_exit,
                   found ? "found" : "MISSING: ", found ? "" : want_line);
    if (rc != want_exit || !found || !no_key_text)
        printf("---- output ----\n%s---- end ----\n", out);
}

static int run_startup(void)
{
    char dir[4096];
    path_in(dir, sizeof dir, work, "startup");
    if (!make_dir(work) || !make_dir(dir)) {
        testutil_check(false, "cannot make %s", dir);
        return 1;
    }
    char cert[4096], key[4096], other_key[4096], rsa_key[4096], enc_key[4096], garbage[4096],
        missing[4096], big[4096];
    path_in(cert, sizeof cert, dir, "cert.pem");
    path_in(key, sizeof key, dir, "key.pem");
    path_in(other_key, sizeof other_key, dir, "other-key.pem");
    path_in(rsa_key, sizeof rsa_key, dir, "rsa-key.pem");
    path_in(enc_key, sizeof enc_key, dir, "encrypted-key.pem");
    path_in(garbage, sizeof garbage, dir, "garbage.pem");
    path_in(missing, sizeof missing, dir, "does-not-exist.pem");
    path_in(big, sizeof big, dir, "big.pem");
    EVP_PKEY *ec = EVP_EC_gen("P-256");
    EVP_PKEY *ec2 = EVP_EC_gen("P-256");
    EVP_PKEY *rsa = EVP_RSA_gen(2048);
    X509 *x = ec != NULL ? make_cert(ec) : NULL;
    bool made = x != NULL && ec2 != NULL && rsa != NULL && write_cert(cert, x) &&
                write_key(key, ec, NULL) && write_key(other_key, ec2, NULL) &&
                write_key(rsa_key, rsa, NULL) && write_key(enc_key, ec, "a passphrase") &&
                write_text(garbage, "this is not PEM\n") && truncate_to(big, 1024 * 1024 + 1);
    X509_free(x);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(ec2);
    EVP_PKEY_free(rsa);
    testutil_check(made, "made the certificate and keys in %s", dir);
    if (!made)
        return 1;
    unlink(missing);

    const char *prefix = "jwtd: cannot serve on 127.0.0.1:0: ";
    char want[512];
#define CASE(what, exit_code, message, ...)                                                        \
    do {                                                                                           \
        const char *case_args[] = {__VA_ARGS__};                                                   \
        snprintf(want, sizeof want, "%s%s", (exit_code) == 1 ? prefix : "jwtd: ", message);        \
        startup_case(what, dir, case_args, sizeof case_args / sizeof case_args[0], exit_code,      \
                     want);                                                                        \
    } while (0)

    CASE("missing certificate file", 1, "TLS certificate file (tls-cert) not found", "--tls-cert",
         missing, "--tls-key", key);
    CASE("missing key file", 1, "TLS key file (tls-key) not found", "--tls-cert", cert, "--tls-key",
         missing);
    CASE("certificate file without a certificate", 1,
         "TLS certificate file (tls-cert) holds no valid PEM certificate", "--tls-cert", garbage,
         "--tls-key", key);
    CASE("key file given as certificate", 1,
         "TLS certificate file (tls-cert) holds no valid PEM certificate", "--tls-cert", key,
         "--tls-key", key);
    CASE("a directory as certificate", 1, "TLS certificate file (tls-cert) is not a regular file",
         "--tls-cert", dir, "--tls-key", key);
    CASE("a certificate file over 1 MiB", 1, "TLS certificate file (tls-cert) is larger than 1 MiB",
         "--tls-cert", big, "--tls-key", key);
    CASE("a device as key", 1, "TLS key file (tls-key) is not a regular file", "--tls-cert", cert,
         "--tls-key", "/dev/zero");
    CASE("key file without a key", 1, "TLS key file (tls-key) holds no valid PEM private key",
         "--tls-cert", cert, "--tls-key", garbage);
    CASE("certificate given as key", 1, "TLS key file (tls-key) holds no valid PEM private key",
         "--tls-cert", cert, "--tls-key", cert);
    CASE("another P-256 key than the certificate's", 1,
         "TLS key (tls-key) does not match the certificate (tls-cert)", "--tls-cert", cert,
         "--tls-key", other_key);
    CASE("an RSA key for an EC certificate", 1,
         "TLS key (tls-key) does not match the certificate (tls-cert)", "--tls-cert", cert,
         "--tls-key", rsa_key);
    CASE("encrypted key", 1,
         "TLS key file (tls-key) is encrypted: passphrases are not supported, give an "
         "unencrypted key file readable only by jwtd",
         "--tls-cert", cert, "--tls-key", enc_key);
    /* Only one of the pair: a configuration error, which the serve command exits 2 for. */
    CASE("only --tls-cert", 2, "tls-cert and tls-key must be given together", "--tls-cert", cert);
    CASE("only --tls-key", 2, "tls-cert and tls-key must be given together", "--tls-key", key);
#undef CASE
    return testutil_failed() == 0 ? 0 : 1;
}

/* ---- the live server ---- */

typedef struct reply {
    CURLcode code;
    long status;
    char *body;
    size_t len;
    char cookie[4096]; /* the first Set-Cookie header's value */
    /* The TLS session as seen during the transfer (libcurl hands out its SSL object only
     * while the transfer runs): protocol, cipher, ALPN. */
    CURL *handle;
    bool tls_seen;
    int tls_version;
    char cipher[64];
    bool ecdhe, aead;
    char alpn[16];
} reply;

static void note_tls(reply *r);

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    reply *r = ud;
    return testutil_append(&r->body, &r->len, MAX_BODY, data, size * n, NULL) ? size * n : 0;
}

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
    reply *r = ud;
    size_t len = size * n;
    if (!r->tls_seen)
        note_tls(r);
    static const char name[] = "set-cookie:";
    if (r->cookie[0] == '\0' && len > sizeof name - 1 &&
        strncasecmp(data, name, sizeof name - 1) == 0) {
        const char *v = data + sizeof name - 1;
        size_t vl = len - (sizeof name - 1);
        while (vl > 0 && (*v == ' ' || *v == '\t')) {
            v++;
            vl--;
        }
        while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
            vl--;
        if (vl < sizeof r->cookie) {
            memcpy(r->cookie, v, vl);
            r->cookie[vl] = '\0';
        }
    }
    return len;
}

static void reply_free(reply *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* The TLS connection of r's transfer: its OpenSSL object (libcurl's OpenSSL backend). */
static void note_tls(reply *r)
{
    struct curl_tlssessioninfo *info = NULL;
    if (curl_easy_getinfo(r->handle, CURLINFO_TLS_SSL_PTR, &info) != CURLE_OK || info == NULL ||
        info->backend != CURLSSLBACKEND_OPENSSL || info->internals == NULL)
        return;
    SSL *ssl = info->internals;
    r->tls_seen = true;
    r->tls_version = SSL_version(ssl);
    const SSL_CIPHER *cipher = SSL_get_current_cipher(ssl);
    if (cipher != NULL) {
        snprintf(r->cipher, sizeof r->cipher, "%s", SSL_CIPHER_get_name(cipher));
        r->ecdhe = SSL_CIPHER_get_kx_nid(cipher) == NID_kx_ecdhe;
        r->aead = SSL_CIPHER_is_aead(cipher) == 1;
    }
    const unsigned char *alpn = NULL;
    unsigned alpn_len = 0;
    SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
    if (alpn != NULL && alpn_len < sizeof r->alpn) {
        memcpy(r->alpn, alpn, alpn_len);
        r->alpn[alpn_len] = '\0';
    }
}

/* A handle that verifies the server's certificate against cafile. */
static CURL *tls_handle(const char *cafile)
{
    CURL *c = curl_easy_init();
    if (c == NULL)
        return NULL;
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)REQUEST_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_CAINFO, cafile);
    curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    return c;
}

/* One request on c: method, base + path, an optional JSON body and extra header lines. */
static void request(CURL *c, reply *r, const char *method, const char *base, const char *path,
                    const char *json, const char *header1, const char *header2)
{
    reply_free(r);
    r->handle = c;
    char url[512];
    snprintf(url, sizeof url, "%s%s", base, path);
    struct curl_slist *h = NULL;
    if (json != NULL)
        h = curl_slist_append(h, "Content-Type: application/json");
    if (header1 != NULL)
        h = curl_slist_append(h, header1);
    if (header2 != NULL)
        h = curl_slist_append(h, header2);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (json != NULL)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    else if (strcmp(method, "POST") == 0)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    else
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    r->code = curl_easy_perform(c);
    if (r->code == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(h);
}

/* A string member of the reply's JSON body, copied into out ("" when absent). */
static void json_member(const reply *r, const char *name, char *out, size_t len)
{
    out[0] = '\0';
    json_t *doc = r->body != NULL ? json_loads(r->body, 0, NULL) : NULL;
    const char *v = json_string_value(json_object_get(doc, name));
    if (v != NULL && strlen(v) < len)
        memcpy(out, v, strlen(v) + 1);
    json_decref(doc);
}

/* Sends a plain-HTTP request to the TLS port on a raw socket; true when the server answered
 * no HTTP and closed the connection (EOF or reset) within PLAIN_CLOSE_MS. */
static bool plain_http_refused(int port, char *what, size_t whatlen)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(what, whatlen, "socket: %s", strerror(errno));
        return false;
    }
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    static const char req[] = "GET /me HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
        send(fd, req, sizeof req - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof req - 1)) {
        snprintf(what, whatlen, "connect/send: %s", strerror(errno));
        close(fd);
        return false;
    }
    char got[4096];
    size_t len = 0;
    bool closed = false;
    long deadline = testutil_now_ms() + PLAIN_CLOSE_MS;
    while (!closed) {
        long left = deadline - testutil_now_ms();
        if (left <= 0)
            break;
        struct pollfd pfd = {fd, POLLIN, 0};
        int r = poll(&pfd, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        ssize_t n = recv(fd, got + len, sizeof got - 1 - len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            closed = true; /* EOF, or ECONNRESET */
            break;
        }
        len += (size_t)n;
        if (len == sizeof got - 1)
            break;
    }
    close(fd);
    got[len] = '\0';
    bool http = len >= 5 && memcmp(got, "HTTP/", 5) == 0;
    snprintf(what, whatlen, "%s, %zu bytes back%s", closed ? "closed" : "NOT closed in time", len,
             http ? " (an HTTP answer)" : "");
    return closed && !http;
}

static long log_lines(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    long lines = 0;
    int ch;
    while ((ch = fgetc(f)) != EOF)
        lines += ch == '\n';
    fclose(f);
    return lines;
}

/* The main client, kept alive until after the server was told to stop: an idle keep-alive
 * TLS connection must not hold the shutdown up. */
static CURL *keepalive;

static void run_live(testserver *ts, const char *dir)
{
    char cert[4096], other_cert[4096];
    path_in(cert, sizeof cert, dir, "cert.pem");
    path_in(other_cert, sizeof other_cert, dir, "other-cert.pem");
    testutil_check(strncmp(ts->base, "https://127.0.0.1:", 18) == 0,
                   "the server prints https:// (%s)", ts->base);

    reply r = {0};
    /* A client that trusts another certificate: refused. */
    CURL *wrong = tls_handle(other_cert);
    request(wrong, &r, "GET", ts->base, "/.well-known/jwks.json", NULL, NULL, NULL);
    testutil_check(r.code == CURLE_PEER_FAILED_VERIFICATION,
                   "a client trusting another certificate fails verification (%s)",
                   curl_easy_strerror(r.code));
    curl_easy_cleanup(wrong);

    /* The main client: offers h2 and http/1.1 by ALPN, kept alive across the whole test. */
    CURL *c = keepalive = tls_handle(cert);
    bool h2_offered =
        curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS) == CURLE_OK;
    request(c, &r, "POST", ts->base, "/register",
            "{\"username\":\"" USERNAME "\",\"password\":\"" PASSWORD "\"}", NULL, NULL);
    testutil_check(r.code == CURLE_OK && r.status == 201, "register over TLS -> %ld (%s)", r.status,
                   curl_easy_strerror(r.code));

    request(c, &r, "POST", ts->base, "/login",
            "{\"username\":\"" USERNAME "\",\"password\":\"" PASSWORD "\"}", NULL, NULL);
    testutil_check(r.code == CURLE_OK && r.status == 200, "login over TLS -> %ld (%s)", r.status,
                   curl_easy_strerror(r.code));
    char access[4096], refresh[4096], cookie_value[4096] = "";
    json_member(&r, "access_token", access, sizeof access);
    json_member(&r, "refresh_token", refresh, sizeof refresh);
    testutil_check(access[0] != '\0' && refresh[0] != '\0',
                   "login returned an access and a refresh token");
    bool secure = strstr(r.cookie, "; Secure") != NULL;
    bool httponly = strstr(r.cookie, "; HttpOnly") != NULL;
    testutil_check(strncmp(r.cookie, "jwtd_refresh=", 13) == 0 && secure && httponly,
                   "the refresh cookie has Secure and HttpOnly");
    if (strncmp(r.cookie, "jwtd_refresh=", 13) == 0) {
        size_t vl = strcspn(r.cookie + 13, ";");
        if (vl < sizeof cookie_value) {
            memcpy(cookie_value, r.cookie + 13, vl);
            cookie_value[vl] = '\0';
        }
    }

    /* What was negotiated on that connection. */
    long http_version = 0;
    curl_easy_getinfo(c, CURLINFO_HTTP_VERSION, &http_version);
    testutil_check(http_version == CURL_HTTP_VERSION_1_1,
                   "HTTP/1.1 over TLS%s (curl version code %ld)",
                   h2_offered ? " although the client offered h2" : "", http_version);
    testutil_check(r.tls_seen && r.tls_version >= TLS1_2_VERSION,
                   "protocol is TLS 1.2 or newer (version 0x%x, cipher %s)",
                   (unsigned)r.tls_version, r.cipher);
    testutil_check(strcmp(r.alpn, "http/1.1") == 0, "ALPN selected http/1.1 (\"%s\")", r.alpn);

    char auth[4200];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", access);
    request(c, &r, "GET", ts->base, "/me", NULL, auth, NULL);
    testutil_check(r.code == CURLE_OK && r.status == 200 && r.body != NULL &&
                       strstr(r.body, USERNAME) != NULL,
                   "GET /me over TLS -> %ld", r.status);

    char cookie_header[4200];
    snprintf(cookie_header, sizeof cookie_header, "Cookie: jwtd_refresh=%s", cookie_value);
    request(c, &r, "POST", ts->base, "/refresh", NULL, cookie_header, NULL);
    char access2[4096];
    json_member(&r, "access_token", access2, sizeof access2);
    testutil_check(r.code == CURLE_OK && r.status == 200 && access2[0] != '\0',
                   "refresh by cookie over TLS -> %ld", r.status);
    long conns = -1;
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &conns);
    testutil_check(conns == 0,
                   "the client kept its one TLS connection alive (new connections: %ld)", conns);

    /* TLS 1.2 exactly: an ECDHE key exchange and an AEAD cipher. */
    CURL *t12 = tls_handle(cert);
    curl_easy_setopt(t12, CURLOPT_SSLVERSION,
                     (long)(CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2));
    request(t12, &r, "GET", ts->base, "/.well-known/jwks.json", NULL, NULL, NULL);
    testutil_check(r.code == CURLE_OK && r.status == 200 && r.tls_seen &&
                       r.tls_version == TLS1_2_VERSION && r.ecdhe && r.aead,
                   "a TLS 1.2 client gets ECDHE with an AEAD cipher (%s, %s)", r.cipher,
                   curl_easy_strerror(r.code));
    curl_easy_cleanup(t12);

    /* TLS 1.2 with only CBC ciphers (which OpenSSL's defaults would accept): refused. */
    CURL *cbc = tls_handle(cert);
    curl_easy_setopt(cbc, CURLOPT_SSLVERSION,
                     (long)(CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2));
    curl_easy_setopt(cbc, CURLOPT_SSL_CIPHER_LIST,
                     "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-ECDSA-AES128-SHA256:"
                     "ECDHE-ECDSA-AES256-SHA384");
    request(cbc, &r, "GET", ts->base, "/.well-known/jwks.json", NULL, NULL, NULL);
    testutil_check(r.code != CURLE_OK, "a TLS 1.2 client offering only CBC ciphers is refused (%s)",
                   curl_easy_strerror(r.code));
    curl_easy_cleanup(cbc);

    /* TLS 1.0/1.1 only, the client at security level 0 so that only the server can say no. */
    CURL *old = tls_handle(cert);
    curl_easy_setopt(old, CURLOPT_SSLVERSION,
                     (long)(CURL_SSLVERSION_TLSv1_0 | CURL_SSLVERSION_MAX_TLSv1_1));
    curl_easy_setopt(old, CURLOPT_SSL_CIPHER_LIST, "DEFAULT:@SECLEVEL=0");
    request(old, &r, "GET", ts->base, "/.well-known/jwks.json", NULL, NULL, NULL);
    testutil_check(r.code != CURLE_OK, "a TLS 1.1 client is refused (%s)",
                   curl_easy_strerror(r.code));
    curl_easy_cleanup(old);

    /* Plain HTTP to the TLS port: no answer, a closed connection, a quiet log, and TLS
     * clients served right after (one loop: the same thread handles both). */
    long lines_before = log_lines(ts->log_path);
    int refused = 0, fresh_ok = 0, fresh_tries = 0;
    char what[128] = "";
    for (int i = 0; i < PLAIN_TRIES; i++) {
        if (plain_http_refused(ts->port, what, sizeof what))
            refused++;
        else
            printf("     plain request %d: %s\n", i, what);
        if (i % 10 == 0 || i == PLAIN_TRIES - 1) {
            CURL *fresh = tls_handle(cert);
            request(fresh, &r, "GET", ts->base, "/.well-known/jwks.json", NULL, NULL, NULL);
            fresh_tries++;
            fresh_ok += r.code == CURLE_OK && r.status == 200;
            curl_easy_cleanup(fresh);
        }
    }
    testutil_check(refused == PLAIN_TRIES,
                   "%d/%d plain-HTTP requests to the TLS port got no HTTP answer "
                   "and a closed connection (last: %s)",
                   refused, PLAIN_TRIES, what);
    testutil_check(fresh_ok == fresh_tries,
                   "%d/%d new TLS connections right after plain-HTTP ones served", fresh_ok,
                   fresh_tries);
    long lines_after = log_lines(ts->log_path);
    testutil_check(lines_before >= 0 && lines_after - lines_before <= PLAIN_LOG_LINES_MAX,
                   "the plain-HTTP requests added %ld log lines (at most %d)",
                   lines_after - lines_before, PLAIN_LOG_LINES_MAX);

    /* The keep-alive connection from before still serves. */
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", access2);
    request(c, &r, "GET", ts->base, "/me", NULL, auth, NULL);
    conns = -1;
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &conns);
    testutil_check(r.code == CURLE_OK && r.status == 200 && conns == 0,
                   "the earlier keep-alive TLS connection still serves (%ld, new connections: %ld)",
                   r.status, conns);
    reply_free(&r);
}

static int run_serve(void)
{
    char dir[4096];
    path_in(dir, sizeof dir, work, "serve");
    if (!make_dir(work) || !make_dir(dir)) {
        testutil_check(false, "cannot make %s", dir);
        return 1;
    }
    bool made =
        make_pair(dir, "cert.pem", "key.pem") && make_pair(dir, "other-cert.pem", "other-key.pem");
    testutil_check(made, "made two self-signed certificates for 127.0.0.1 in %s", dir);
    if (!made)
        return 1;
    char cert[4096], key[4096], db[4096], log[4096];
    path_in(cert, sizeof cert, dir, "cert.pem");
    path_in(key, sizeof key, dir, "key.pem");
    path_in(db, sizeof db, dir, "jwtd.sqlite");
    path_in(log, sizeof log, dir, "server.log");
    testutil_remove_db(db, log);

    const char *args[TESTUTIL_MAX_SERVE_ARGS + 6];
    size_t n = 0;
    args[n++] = "--tls-cert";
    args[n++] = cert;
    args[n++] = "--tls-key";
    args[n++] = key;
    args[n++] = "--threads";
    args[n++] = "1";
    for (size_t i = 0; i < nextra; i++)
        args[n++] = extra_args[i];
    testserver ts;
    char err[512];
    if (!testserver_start(&ts, jwtd, db, log, args, n, err, sizeof err)) {
        testutil_check(false, "jwtd serve with TLS starts: %s", err);
        testserver_print_log(&ts, stdout, 4096);
        return 1;
    }
    testutil_check(true, "jwtd serve with TLS starts (%s)", ts.base);
    run_live(&ts, dir);
    char how[128];
    testutil_check(testserver_stop(&ts, how, sizeof how),
                   "the server stops cleanly with an idle TLS connection open (%s)", how);
    curl_easy_cleanup(keepalive);
    keepalive = NULL;
    if (testutil_failed() != 0) {
        printf("---- server log ----\n");
        testserver_print_log(&ts, stdout, 8192);
        printf("---- end ----\n");
    }
    return testutil_failed() == 0 ? 0 : 1;
}

static int usage(void)
{
    fprintf(stderr, "usage: tls_test startup|serve --jwtd BIN --work DIR [--serve-arg ARG]...\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    const char *mode = argv[1];
    static testutil_args opt;
    for (int i = 2; i < argc; i++)
        if (!testutil_take_arg(&opt, argc, argv, &i))
            return usage();
    jwtd = opt.jwtd;
    work = opt.dir;
    extra_args = opt.serve;
    nextra = opt.nserve;
    if (jwtd == NULL || work == NULL)
        return usage();
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(mode, "startup") == 0)
        return run_startup();
    if (strcmp(mode, "serve") != 0)
        return usage();
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        testutil_check(false, "curl_global_init");
        return 1;
    }
    int rc = run_serve();
    curl_global_cleanup();
    return rc;
}
