#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <string.h>
#include <unistd.h>

struct cb_sha256 {
    EVP_MD_CTX *ctx;
};

cb_sha256 *cb_sha256_new(void)
{
    cb_sha256 *h = xmalloc(sizeof *h);
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
        abort();
    return h;
}

void cb_sha256_update(cb_sha256 *h, const void *data, size_t n)
{
    if (n)
        EVP_DigestUpdate(h->ctx, data, n);
}

void cb_sha256_final_raw(cb_sha256 *h, uint8_t out[32])
{
    unsigned int len = 32;
    EVP_DigestFinal_ex(h->ctx, out, &len);
    cb_sha256_free(h);
}

void cb_sha256_final(cb_sha256 *h, char out[CB_DIGEST_STR_LEN])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t raw[32];
    cb_sha256_final_raw(h, raw);
    memcpy(out, "sha256:", 7);
    for (int i = 0; i < 32; i++) {
        out[7 + 2 * i] = hex[raw[i] >> 4];
        out[8 + 2 * i] = hex[raw[i] & 15];
    }
    out[7 + 64] = 0;
}

void cb_sha256_free(cb_sha256 *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->ctx);
    free(h);
}

void cb_sha256_buf(const void *data, size_t n, char out[CB_DIGEST_STR_LEN])
{
    cb_sha256 *h = cb_sha256_new();
    cb_sha256_update(h, data, n);
    cb_sha256_final(h, out);
}

int cb_sha256_file(const char *path, char out[CB_DIGEST_STR_LEN], cb_err *err)
{
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cb_error(err, errno, "open `%s`", path);
    cb_sha256 *h = cb_sha256_new();
    char buf[1 << 16];
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            cb_sha256_free(h);
            return cb_error(err, e, "read `%s`", path);
        }
        if (r == 0)
            break;
        cb_sha256_update(h, buf, (size_t)r);
    }
    cb_sha256_final(h, out);
    return 0;
}

bool cb_digest_valid(const char *s)
{
    if (!s || strncmp(s, "sha256:", 7) != 0 || strlen(s) != 7 + 64)
        return false;
    for (const char *p = s + 7; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}
