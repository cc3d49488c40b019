/* The JSON subset BuildKit's parseJSON accepts: json.Decoder.Decode of one value into
 * []interface{} (trailing text after the array is ignored, as Decode does). */
#include <string.h>

#include "internal.h"

typedef struct jp {
    const char *s;
    size_t n, i;
    int depth;
} jp;

static void ws(jp *p)
{
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r'))
        p->i++;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int read_u4(jp *p, size_t at, int32_t *out)
{
    if (at + 4 > p->n)
        return -1;
    int32_t v = 0;
    for (int k = 0; k < 4; k++) {
        int h = hexval(p->s[at + k]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    *out = v;
    return 0;
}

/* String starting at '"'. out may be NULL (validate only). */
static int parse_string(jp *p, cb_buf *out)
{
    p->i++;
    while (p->i < p->n) {
        unsigned char c = (unsigned char)p->s[p->i];
        if (c == '"') {
            p->i++;
            return 0;
        }
        if (c < 0x20)
            return -1;
        if (c == '\\') {
            if (p->i + 1 >= p->n)
                return -1;
            char e = p->s[p->i + 1];
            p->i += 2;
            int32_t r;
            switch (e) {
            case '"': r = '"'; break;
            case '\\': r = '\\'; break;
            case '/': r = '/'; break;
            case 'b': r = '\b'; break;
            case 'f': r = '\f'; break;
            case 'n': r = '\n'; break;
            case 'r': r = '\r'; break;
            case 't': r = '\t'; break;
            case 'u':
                if (read_u4(p, p->i, &r) < 0)
                    return -1;
                p->i += 4;
                if (r >= 0xD800 && r < 0xDC00) {
                    int32_t lo;
                    if (p->i + 6 <= p->n && p->s[p->i] == '\\' && p->s[p->i + 1] == 'u' &&
                        read_u4(p, p->i + 2, &lo) == 0 && lo >= 0xDC00 && lo < 0xE000) {
                        r = 0x10000 + ((r - 0xD800) << 10) + (lo - 0xDC00);
                        p->i += 6;
                    } else {
                        r = DF_RUNE_ERROR;
                    }
                } else if (r >= 0xDC00 && r < 0xE000) {
                    r = DF_RUNE_ERROR;
                }
                break;
            default:
                return -1;
            }
            if (out) {
                if (r == 0)
                    cb_buf_append(out, "\xC0\x80", 2); /* NUL: see df_parse */
                else
                    df_utf8_put(out, r);
            }
            continue;
        }
        int w;
        int32_t r = df_utf8_decode(p->s + p->i, p->n - p->i, &w);
        if (out) {
            if (r == DF_RUNE_ERROR && w == 1)
                df_utf8_put(out, DF_RUNE_ERROR);
            else
                cb_buf_append(out, p->s + p->i, (size_t)w);
        }
        p->i += (size_t)w;
    }
    return -1;
}

static bool isdig(char c)
{
    return c >= '0' && c <= '9';
}

static int parse_number(jp *p)
{
    if (p->i < p->n && p->s[p->i] == '-')
        p->i++;
    if (p->i >= p->n)
        return -1;
    if (p->s[p->i] == '0') {
        p->i++;
    } else if (p->s[p->i] >= '1' && p->s[p->i] <= '9') {
        while (p->i < p->n && isdig(p->s[p->i]))
            p->i++;
    } else {
        return -1;
    }
    if (p->i < p->n && p->s[p->i] == '.') {
        p->i++;
        if (p->i >= p->n || !isdig(p->s[p->i]))
            return -1;
        while (p->i < p->n && isdig(p->s[p->i]))
            p->i++;
    }
    if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
        p->i++;
        if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-'))
            p->i++;
        if (p->i >= p->n || !isdig(p->s[p->i]))
            return -1;
        while (p->i < p->n && isdig(p->s[p->i]))
            p->i++;
    }
    /* a number needs a delimiter after it before the input may end */
    if (p->i >= p->n)
        return -1;
    return 0;
}

static int parse_value(jp *p);

static int parse_literal(jp *p, const char *lit)
{
    size_t l = strlen(lit);
    if (p->i + l > p->n || memcmp(p->s + p->i, lit, l) != 0)
        return -1;
    p->i += l;
    return 0;
}

static int parse_container(jp *p, char open)
{
    char close = open == '[' ? ']' : '}';
    if (++p->depth > 10000)
        return -1;
    p->i++;
    ws(p);
    if (p->i < p->n && p->s[p->i] == close) {
        p->i++;
        p->depth--;
        return 0;
    }
    for (;;) {
        ws(p);
        if (open == '{') {
            if (p->i >= p->n || p->s[p->i] != '"' || parse_string(p, NULL) < 0)
                return -1;
            ws(p);
            if (p->i >= p->n || p->s[p->i] != ':')
                return -1;
            p->i++;
            ws(p);
        }
        if (parse_value(p) < 0)
            return -1;
        ws(p);
        if (p->i >= p->n)
            return -1;
        if (p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->s[p->i] == close) {
            p->i++;
            p->depth--;
            return 0;
        }
        return -1;
    }
}

static int parse_value(jp *p)
{
    ws(p);
    if (p->i >= p->n)
        return -1;
    switch (p->s[p->i]) {
    case '"': return parse_string(p, NULL);
    case '[':
    case '{': return parse_container(p, p->s[p->i]);
    case 't': return parse_literal(p, "true");
    case 'f': return parse_literal(p, "false");
    case 'n': return parse_literal(p, "null");
    default: return parse_number(p);
    }
}

int df_json_string_array(const char *s, size_t n, cb_strv *out)
{
    jp p = {s, n, 0, 0};
    if (n == 0 || s[0] != '[')
        return 0;
    /* the whole text must be one JSON value: BuildKit's parseJSON uses json.Unmarshal, which
     * refuses trailing data (`["echo"]text` is shell form) */
    if (parse_value(&p) < 0)
        return 0;
    ws(&p);
    if (p.i < p.n)
        return 0;
    p.i = 1;
    bool non_string = false;
    cb_strv tmp;
    cb_strv_init(&tmp);
    ws(&p);
    if (p.s[p.i] != ']') {
        for (;;) {
            ws(&p);
            if (p.s[p.i] == '"') {
                cb_buf b;
                cb_buf_init(&b);
                cb_buf_puts(&b, "");
                parse_string(&p, &b);
                cb_strv_push_owned(&tmp, cb_buf_steal(&b));
            } else {
                non_string = true;
                parse_value(&p);
            }
            ws(&p);
            if (p.s[p.i] == ',') {
                p.i++;
                continue;
            }
            break;
        }
    }
    if (non_string) {
        cb_strv_free(&tmp);
        return -1;
    }
    for (size_t i = 0; i < tmp.n; i++)
        cb_strv_push(out, tmp.v[i]);
    cb_strv_free(&tmp);
    return 1;
}
