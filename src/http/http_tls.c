/* TLS for jwtd serve (--tls-cert/--tls-key): the one OpenSSL SSL_CTX that every event loop's
 * h2o accept context shares (SSL_CTX is safe to share between threads; each connection gets its
 * own SSL from it). h2o 2.2 runs the handshake itself (h2o_accept -> h2o_socket_ssl_handshake),
 * bounded by its handshake timeout, and closes any connection whose handshake fails: a
 * plain-HTTP request to the TLS port, a TLS 1.1 client, garbage. Nothing is logged for those, so
 * a scanner cannot fill the log.
 *
 * Policy: TLS 1.2 and 1.3 only; for TLS 1.2 only ECDHE key exchange with AEAD ciphers
 * (AES-GCM, ChaCha20-Poly1305), in the server's order; TLS 1.3 uses OpenSSL's default suites
 * (all AEAD). No compression, no renegotiation; session tickets and the session cache are
 * OpenSSL's defaults. ALPN offers http/1.1 only (no HTTP/2). The key is never decrypted with a
 * passphrase: an encrypted key file is refused at start-up instead of prompting on the
 * terminal. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "http/http_internal.h"

/* Mozilla's "intermediate" TLS 1.2 list without finite-field DHE: forward secrecy from ECDHE,
 * AEAD only. ECDSA first (cheaper), then RSA; AES-128 before AES-256 before ChaCha20. */
static const char TLS12_CIPHERS[] = "ECDHE-ECDSA-AES128-GCM-SHA256:"
                                    "ECDHE-RSA-AES128-GCM-SHA256:"
                                    "ECDHE-ECDSA-AES256-GCM-SHA384:"
                                    "ECDHE-RSA-AES256-GCM-SHA384:"
                                    "ECDHE-ECDSA-CHACHA20-POLY1305:"
                                    "ECDHE-RSA-CHACHA20-POLY1305";

/* ALPN: http/1.1 only. h2o picks HTTP/2 only when one of its h2 names is selected, so offering
 * this list keeps every TLS connection on HTTP/1.1; a client that offers no ALPN, or only h2,
 * gets no ALPN answer and talks HTTP/1.1 as well. */
static const h2o_iovec_t TLS_ALPN[] = {{H2O_STRLIT("http/1.1")}, {NULL, 0}};

/* The passphrase callback: never asks, only records that OpenSSL wanted a passphrase (the
 * key is encrypted). Without it OpenSSL would prompt on the controlling terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *userdata)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    *(int *)userdata = 1;
    return -1;
}

/* The largest certificate chain or key file read: far above any real chain, and a bound on
 * what a wrong path (a log file, a device) makes OpenSSL parse. */
#define HTTP_TLS_FILE_MAX (1024L * 1024L)

/* The reasons for one of the two files, each naming its option. */
typedef struct tls_file_reasons {
    const char *missing, *denied, *unopenable, *not_regular, *too_large;
} tls_file_reasons;

static const tls_file_reasons CERT_REASONS = {
    "TLS certificate file (tls-cert) not found",
    "TLS certificate file (tls-cert) not readable: permission denied",
    "TLS certificate file (tls-cert) cannot be opened",
    "TLS certificate file (tls-cert) is not a regular file",
    "TLS certificate file (tls-cert) is larger than 1 MiB",
};
static const tls_file_reasons KEY_REASONS = {
    "TLS key file (tls-key) not found",
    "TLS key file (tls-key) not readable: permission denied",
    "TLS key file (tls-key) cannot be opened",
    "TLS key file (tls-key) is not a regular file",
    "TLS key file (tls-key) is larger than 1 MiB",
};

/* A clearer reason than OpenSSL's for a file that cannot be used; NULL when it can. Only
 * regular files of bounded size: OpenSSL would read a FIFO or a device without end. */
static const char *unusable(const char *path, const tls_file_reasons *r)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return r->missing;
        if (errno == EACCES || errno == EPERM)
            return r->denied;
        return r->unopenable;
    }
    struct stat st;
    const char *why = NULL;
    if (fstat(fd, &st) != 0)
        why = r->unopenable;
    else if (!S_ISREG(st.st_mode))
        why = r->not_regular;
    else if (st.st_size > HTTP_TLS_FILE_MAX)
        why = r->too_large;
    close(fd);
    return why;
}

SSL_CTX *http_tls_create(const char *cert_file, const char *key_file, const char **why)
{
    if (cert_file == NULL || key_file == NULL || cert_file[0] == '\0' || key_file[0] == '\0') {
        *why = "tls-cert and tls-key must be given together";
        return NULL;
    }
    /* The files first, with reasons that name the option; OpenSSL's own would be vaguer. */
    *why = unusable(cert_file, &CERT_REASONS);
    if (*why == NULL)
        *why = unusable(key_file, &KEY_REASONS);
    if (*why != NULL)
        return NULL;

    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        *why = "cannot set up TLS (OpenSSL)";
        return NULL;
    }
    int wanted_passphrase = 0;
    SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, &wanted_passphrase);
    /* SSL_OP_NO_RENEGOTIATION refuses renegotiation both ways (TLS 1.2; 1.3 has none). */
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1) {
        *why = "cannot set up TLS (OpenSSL)";
        goto fail;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        *why = "TLS certificate file (tls-cert) holds no valid PEM certificate";
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
        unsigned long e = ERR_peek_last_error();
        if (wanted_passphrase)
            *why = "TLS key file (tls-key) is encrypted: passphrases are not supported, give "
                   "an unencrypted key file readable only by jwtd";
        else if (ERR_GET_LIB(e) == ERR_LIB_X509 && ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH)
            *why = "TLS key (tls-key) does not match the certificate (tls-cert)";
        else
            *why = "TLS key file (tls-key) holds no valid PEM private key";
        goto fail;
    }
    /* A key of another type than the certificate's (an EC key for an RSA certificate) loads
     * into its own slot without complaint; this check sees it. */
    if (SSL_CTX_check_private_key(ctx) != 1) {
        *why = "TLS key (tls-key) does not match the certificate (tls-cert)";
        goto fail;
    }
    /* Done with the files: no callback keeps pointing at this stack frame. */
    SSL_CTX_set_default_passwd_cb(ctx, NULL);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, NULL);
    h2o_ssl_register_alpn_protocols(ctx, TLS_ALPN);
    ERR_clear_error();
    return ctx;

fail:
    /* The queue may name file paths or parser details: never shown, and not left behind. */
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return NULL;
}

void http_tls_free(SSL_CTX *ctx) { SSL_CTX_free(ctx); }
