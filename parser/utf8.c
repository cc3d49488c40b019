/* UTF-8 and Go unicode helpers: the Dockerfile parser follows Go's rune semantics. */
#include "internal.h"

int32_t df_utf8_decode(const char *s, size_t n, int *width)
{
    const unsigned char *p = (const unsigned char *)s;
    if (n == 0) {
        *width = 0;
        return DF_EOF;
    }
    unsigned c = p[0];
    if (c < 0x80) {
        *width = 1;
        return (int32_t)c;
    }
    int need;
    uint32_t r, min;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
        r = c & 0x1F;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        r = c & 0x0F;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        r = c & 0x07;
        min = 0x10000;
    } else {
        *width = 1;
        return DF_RUNE_ERROR;
    }
    if (n < (size_t)need + 1) {
        *width = 1;
        return DF_RUNE_ERROR;
    }
    for (int i = 1; i <= need; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            *width = 1;
            return DF_RUNE_ERROR;
        }
        r = (r << 6) | (p[i] & 0x3F);
    }
    if (r < min || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) {
        *width = 1;
        return DF_RUNE_ERROR;
    }
    *width = need + 1;
    return (int32_t)r;
}

void df_utf8_put(cb_buf *b, int32_t r)
{
    char out[4];
    uint32_t u = (uint32_t)r;
    if (r < 0 || u > 0x10FFFF || (u >= 0xD800 && u <= 0xDFFF))
        u = DF_RUNE_ERROR;
    if (u < 0x80) {
        cb_buf_putc(b, (char)u);
    } else if (u < 0x800) {
        out[0] = (char)(0xC0 | (u >> 6));
        out[1] = (char)(0x80 | (u & 0x3F));
        cb_buf_append(b, out, 2);
    } else if (u < 0x10000) {
        out[0] = (char)(0xE0 | (u >> 12));
        out[1] = (char)(0x80 | ((u >> 6) & 0x3F));
        out[2] = (char)(0x80 | (u & 0x3F));
        cb_buf_append(b, out, 3);
    } else {
        out[0] = (char)(0xF0 | (u >> 18));
        out[1] = (char)(0x80 | ((u >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((u >> 6) & 0x3F));
        out[3] = (char)(0x80 | (u & 0x3F));
        cb_buf_append(b, out, 4);
    }
}

bool df_go_isspace(int32_t r)
{
    switch (r) {
    case '\t': case '\n': case '\v': case '\f': case '\r': case ' ': case 0x85: case 0xA0:
    case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
        return true;
    default:
        return r >= 0x2000 && r <= 0x200A;
    }
}

bool df_go_isdigit(int32_t r)
{
    if (r < 0x80)
        return r >= '0' && r <= '9';
    /* the common Unicode decimal digit blocks (Nd) */
    static const int32_t starts[] = {0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6,
                                     0xC66, 0xCE6, 0xD66, 0xE50, 0xED0, 0xF20, 0x1040, 0xFF10};
    for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++)
        if (r >= starts[i] && r <= starts[i] + 9)
            return true;
    return false;
}

bool df_go_isletter(int32_t r)
{
    if (r < 0x80)
        return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z');
    if (r < 0x100)
        return r == 0xAA || r == 0xB5 || r == 0xBA || (r >= 0xC0 && r != 0xD7 && r != 0xF7);
    if (df_go_isspace(r) || df_go_isdigit(r))
        return false;
    /* Outside Latin-1: everything but punctuation/symbol/control blocks counts as a letter. */
    if ((r >= 0x2000 && r <= 0x2BFF) || (r >= 0x3000 && r <= 0x303F) || (r >= 0xE000 && r <= 0xF8FF) ||
        (r >= 0xFE10 && r <= 0xFE6F) || (r >= 0xFF00 && r <= 0xFF20) || (r >= 0xFFF0 && r <= 0xFFFF) ||
        (r >= 0x300 && r <= 0x36F) || r == DF_RUNE_ERROR || (r >= 0x1F000 && r <= 0x1FAFF))
        return false;
    return true;
}

void df_trim_left_space(const char **s, size_t *n)
{
    while (*n > 0) {
        int w;
        int32_t r = df_utf8_decode(*s, *n, &w);
        if (!df_go_isspace(r))
            break;
        *s += w;
        *n -= (size_t)w;
    }
}

/* Width of the last rune of s[0..n) (Go's DecodeLastRune semantics, simplified). */
static int32_t last_rune(const char *s, size_t n, int *width)
{
    size_t start = n;
    int lim = 0;
    while (start > 0 && lim < 4) {
        start--;
        lim++;
        if (((unsigned char)s[start] & 0xC0) != 0x80)
            break;
    }
    int w;
    int32_t r = df_utf8_decode(s + start, n - start, &w);
    if ((size_t)w != n - start) {
        *width = 1;
        return DF_RUNE_ERROR;
    }
    *width = w;
    return r;
}

void df_trim_space(const char **s, size_t *n)
{
    df_trim_left_space(s, n);
    while (*n > 0) {
        int w;
        int32_t r = last_rune(*s, *n, &w);
        if (!df_go_isspace(r))
            break;
        *n -= (size_t)w;
    }
}
