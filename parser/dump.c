/* BuildKit's Node.Dump() and Go's strconv.Quote. */
#include <string.h>

#include "internal.h"

/* unicode.IsPrint for runes >= 0x80, close enough for Dockerfiles: controls, separators
 * other than U+0020, format characters, private use and noncharacters are escaped. */
static bool go_isprint(int32_t r)
{
    if (r < 0xA0)
        return false;
    if (r == 0xAD || df_go_isspace(r))
        return false;
    if ((r >= 0x200B && r <= 0x200F) || (r >= 0x202A && r <= 0x202E) || (r >= 0x2060 && r <= 0x206F) ||
        r == 0xFEFF || (r >= 0xFFF9 && r <= 0xFFFB) || r == 0xFFFE || r == 0xFFFF || (r >= 0xE000 && r <= 0xF8FF) ||
        (r >= 0xF0000) || r == 0x061C || r == 0x180E || (r >= 0xE0000 && r <= 0xE007F))
        return false;
    return true;
}

void df_go_quote(cb_buf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    cb_buf_putc(out, '"');
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            i++;
            switch (c) {
            case '"': cb_buf_puts(out, "\\\""); break;
            case '\\': cb_buf_puts(out, "\\\\"); break;
            case '\a': cb_buf_puts(out, "\\a"); break;
            case '\b': cb_buf_puts(out, "\\b"); break;
            case '\f': cb_buf_puts(out, "\\f"); break;
            case '\n': cb_buf_puts(out, "\\n"); break;
            case '\r': cb_buf_puts(out, "\\r"); break;
            case '\t': cb_buf_puts(out, "\\t"); break;
            case '\v': cb_buf_puts(out, "\\v"); break;
            default:
                if (c < 0x20 || c == 0x7F) {
                    cb_buf_puts(out, "\\x");
                    cb_buf_putc(out, hex[c >> 4]);
                    cb_buf_putc(out, hex[c & 15]);
                } else {
                    cb_buf_putc(out, (char)c);
                }
            }
            continue;
        }
        if (c == 0xC0 && i + 1 < len && (unsigned char)s[i + 1] == 0x80) {
            /* NUL, stored as the overlong form C0 80 so strings stay C strings */
            cb_buf_puts(out, "\\x00");
            i += 2;
            continue;
        }
        int w;
        int32_t r = df_utf8_decode(s + i, len - i, &w);
        if (r == DF_RUNE_ERROR && w == 1) {
            cb_buf_puts(out, "\\x");
            cb_buf_putc(out, hex[c >> 4]);
            cb_buf_putc(out, hex[c & 15]);
            i++;
            continue;
        }
        if (go_isprint(r)) {
            cb_buf_append(out, s + i, (size_t)w);
        } else if (r < 0x10000) {
            cb_buf_printf(out, "\\u%04x", (unsigned)r);
        } else {
            cb_buf_printf(out, "\\U%08x", (unsigned)r);
        }
        i += (size_t)w;
    }
    cb_buf_putc(out, '"');
}

static void dump_instr(const df_instr *in, cb_buf *out)
{
    cb_buf_puts(out, in->keyword);
    if (in->n_flags > 0) {
        cb_buf_puts(out, " [");
        for (size_t i = 0; i < in->n_flags; i++) {
            if (i)
                cb_buf_putc(out, ' ');
            df_go_quote(out, in->flags[i].raw, strlen(in->flags[i].raw));
        }
        cb_buf_putc(out, ']');
    }
    if (in->onbuild) {
        cb_buf_puts(out, " (");
        dump_instr(in->onbuild, out);
        cb_buf_putc(out, ')');
    }
    for (size_t i = 0; i < in->args.n; i++) {
        cb_buf_putc(out, ' ');
        df_go_quote(out, in->args.v[i], strlen(in->args.v[i]));
    }
}

void df_instr_dump(const df_instr *in, cb_buf *out)
{
    cb_buf_putc(out, '(');
    dump_instr(in, out);
    cb_buf_puts(out, ")\n");
}

void df_file_dump(const df_file *f, cb_buf *out)
{
    cb_buf_puts(out, "");
    for (size_t i = 0; i < f->n_instrs; i++)
        df_instr_dump(&f->instrs[i], out);
}
