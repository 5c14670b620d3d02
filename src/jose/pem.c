/* PEM keys: SPKI, PKCS#8, PKCS#1 (RSA) and SEC1 (EC) in; SPKI and unencrypted PKCS#8 out.
 * The block's label picks the one DER structure tried, so an encrypted key is recognised by
 * its label or headers and refused before any decoder could ask for a passphrase. */
#include <openssl/bio.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"

/* ---- Reading ---- */

typedef struct pem_kind {
    const char *label;     /* between "-----BEGIN " and "-----" */
    const char *structure; /* OSSL_DECODER input structure */
    const char *keytype;   /* NULL: the structure names the algorithm itself */
    bool is_private;
} pem_kind;

/* "ENCRYPTED PRIVATE KEY" is deliberately absent: encrypted keys are refused. */
static const pem_kind pem_kinds[] = {
    {"PUBLIC KEY", "SubjectPublicKeyInfo", NULL, false},
    {"RSA PUBLIC KEY", "type-specific", "RSA", false},
    {"PRIVATE KEY", "PrivateKeyInfo", NULL, true},
    {"RSA PRIVATE KEY", "type-specific", "RSA", true},
    {"EC PRIVATE KEY", "type-specific", "EC", true},
};

typedef struct pem_block {
    char *label;
    char *headers; /* "" unless legacy encryption ("Proc-Type: 4,ENCRYPTED") */
    unsigned char *der;
    long len;
} pem_block;

static void pem_block_free(pem_block *b)
{
    OPENSSL_free(b->label);
    OPENSSL_free(b->headers);
    if (b->der != NULL)
        OPENSSL_clear_free(b->der, (size_t)b->len);
    memset(b, 0, sizeof *b);
}

/* The next block that is not "EC PARAMETERS" (`openssl ecparam -genkey` writes one before
 * the key). False when there is none. Each call consumes input, so the loop is bounded. */
static bool pem_next_block(BIO *bio, pem_block *b)
{
    memset(b, 0, sizeof *b);
    while (PEM_read_bio(bio, &b->label, &b->headers, &b->der, &b->len) == 1) {
        if (strcmp(b->label, "EC PARAMETERS") != 0)
            return true;
        pem_block_free(b);
    }
    return false;
}

static const pem_kind *pem_kind_of(const pem_block *b)
{
    if (b->headers[0] != '\0')
        return NULL;
    for (size_t i = 0; i < sizeof pem_kinds / sizeof pem_kinds[0]; i++) {
        if (strcmp(pem_kinds[i].label, b->label) == 0)
            return &pem_kinds[i];
    }
    return NULL;
}

static EVP_PKEY *pem_decode(const pem_kind *kind, const pem_block *b)
{
    int selection = kind->is_private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY;
    EVP_PKEY *pkey = NULL;
    OSSL_DECODER_CTX *dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "DER", kind->structure,
                                                           kind->keytype, selection, NULL, NULL);
    const unsigned char *p = b->der;
    size_t left = (size_t)b->len;

    /* bytes after the DER structure are refused: a key has exactly one encoding */
    if (dctx == NULL || OSSL_DECODER_from_data(dctx, &p, &left) != 1 || left != 0) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    OSSL_DECODER_CTX_free(dctx);
    return pkey;
}

static jwtd_err pem_read_key(BIO *bio, unsigned flags, jwtd_key **out)
{
    pem_block b, extra;
    const pem_kind *kind;
    EVP_PKEY *pkey = NULL;
    bool more;

    if (!pem_next_block(bio, &b))
        return JWTD_ERR_INVALID_KEY_FORMAT;
    kind = pem_kind_of(&b);
    if (kind != NULL)
        pkey = pem_decode(kind, &b);
    pem_block_free(&b);
    /* One key per PEM: a second block would make the choice ambiguous. */
    more = pem_next_block(bio, &extra);
    pem_block_free(&extra);
    if (pkey == NULL || more) {
        EVP_PKEY_free(pkey);
        return JWTD_ERR_INVALID_KEY_FORMAT;
    }
    return jose_key_from_pkey(pkey, kind->is_private, flags, out);
}

jwtd_err jwtd_key_from_pem(const char *pem, size_t len, unsigned flags, jwtd_key **out)
{
    BIO *bio;
    jwtd_err rc;

    if (out != NULL)
        *out = NULL;
    if (pem == NULL || out == NULL)
        return JWTD_ERR_INVALID_ARGUMENT;
    if (len == 0 || len > JWTD_MAX_KEY_BYTES)
        return JWTD_ERR_INVALID_KEY_FORMAT;
    if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
        return JWTD_ERR_NO_MEMORY;
    rc = pem_read_key(bio, flags, out);
    BIO_free(bio);
    ERR_clear_error();
    return rc;
}

/* ---- Writing ---- */

/* Private keys go through a secure-heap BIO, whose buffer is cleansed when freed. */
static jwtd_err pem_write(const jwtd_key *key, bool priv, char **pem_out)
{
    BIO *bio;
    char *data = NULL;
    long len;
    bool ok;

    if (pem_out != NULL)
        *pem_out = NULL;
    if (key == NULL || pem_out == NULL || key->pkey == NULL || (priv && !key->is_private))
        return JWTD_ERR_INVALID_ARGUMENT;
    if ((bio = BIO_new(priv ? BIO_s_secmem() : BIO_s_mem())) == NULL)
        return JWTD_ERR_NO_MEMORY;
    ok = priv ? PEM_write_bio_PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL, NULL) == 1
              : PEM_write_bio_PUBKEY(bio, key->pkey) == 1;
    if (ok && (len = BIO_get_mem_data(bio, &data)) > 0 &&
        (*pem_out = malloc((size_t)len + 1)) != NULL) {
        memcpy(*pem_out, data, (size_t)len);
        (*pem_out)[len] = '\0';
    }
    BIO_free(bio);
    ERR_clear_error();
    if (*pem_out == NULL)
        return ok ? JWTD_ERR_NO_MEMORY : JWTD_ERR_CRYPTO;
    return JWTD_OK;
}

jwtd_err jwtd_key_public_pem(const jwtd_key *key, char **pem_out)
{
    return pem_write(key, false, pem_out);
}

jwtd_err jwtd_key_private_pem(const jwtd_key *key, char **pem_out)
{
    return pem_write(key, true, pem_out);
}
