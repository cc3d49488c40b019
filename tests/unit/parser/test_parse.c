/* Dockerfile parser: our own cases beyond the BuildKit vectors. */
#include <criterion/criterion.h>
#include <string.h>

#include "dockerfile.h"

static df_file *parse_ok(const char *src)
{
    df_file *f = NULL;
    cb_err err = {0};
    int rc = df_parse(src, strlen(src), "Dockerfile", &f, &err);
    cr_assert_eq(rc, 0, "parse failed: %s", err.msg);
    return f;
}

static char *dump(const char *src)
{
    df_file *f = parse_ok(src);
    cb_buf b;
    cb_buf_init(&b);
    df_file_dump(f, &b);
    df_file_free(f);
    return cb_buf_steal(&b);
}

static void parse_err(const char *src, const char *want)
{
    df_file *f = NULL;
    cb_err err = {0};
    cr_assert_lt(df_parse(src, strlen(src), "Dockerfile", &f, &err), 0, "expected an error for %s", src);
    cr_assert_null(f);
    cr_assert(strstr(err.msg, want), "error \"%s\" lacks \"%s\"", err.msg, want);
}

#define DUMP_EQ(src, want)                                                                                          \
    do {                                                                                                            \
        char *d_ = dump(src);                                                                                       \
        cr_assert_str_eq(d_, want);                                                                                 \
        free(d_);                                                                                                   \
    } while (0)

Test(parse, keywords_are_case_insensitive)
{
    DUMP_EQ("from alpine\nRuN echo hi\nCoPy a b\n", "(from \"alpine\")\n(run \"echo hi\")\n(copy \"a\" \"b\")\n");
}

Test(parse, escape_directive_backtick)
{
    df_file *f = parse_ok("# escape=`\nFROM windows\nRUN dir `\n  c:\\\\\n");
    cr_assert_eq(f->escape, '`');
    cr_assert_eq(f->n_instrs, 2);
    cr_assert_str_eq(f->instrs[1].args.v[0], "dir   c:\\\\");
    df_file_free(f);
}

Test(parse, directives_only_at_the_top)
{
    df_file *f = parse_ok("# syntax=docker/dockerfile:1.7\n# check=skip=all\n# escape=\\\nFROM a\n# escape=`\nRUN x \\\n y\n");
    cr_assert_str_eq(f->syntax, "docker/dockerfile:1.7");
    cr_assert_str_eq(f->check, "skip=all");
    cr_assert_eq(f->escape, '\\');
    cr_assert_str_eq(f->instrs[1].args.v[0], "x  y");
    df_file_free(f);
    /* a comment before ends directive parsing */
    f = parse_ok("# hello\n# escape=`\nFROM a\nRUN x \\\n y\n");
    cr_assert_eq(f->escape, '\\');
    cr_assert_null(f->syntax);
    df_file_free(f);
    parse_err("# escape=\\\n# escape=`\nFROM a\n", "only one escape parser directive can be used");
    parse_err("# escape=x\nFROM a\n", "invalid escape token 'x' does not match ` or \\");
}

Test(parse, continuation_with_comments_and_blank_lines)
{
    df_file *f = parse_ok("FROM a\nRUN apt-get update && \\\n# a comment\n\n    apt-get install x \\\n  # indented comment\n    y\n");
    cr_assert_eq(f->n_instrs, 2);
    cr_assert_str_eq(f->instrs[1].args.v[0], "apt-get update &&     apt-get install x     y");
    cr_assert_eq(f->instrs[1].start_line, 2);
    cr_assert_eq(f->instrs[1].end_line, 7);
    cr_assert_eq(f->warnings.n, 1);
    cr_assert_eq(f->warnings.v[0].line, 2);
    cr_assert(strstr(f->warnings.v[0].msg, "Empty continuation line found in: RUN apt-get update"));
    df_file_free(f);
}

Test(parse, json_fallback_rules)
{
    DUMP_EQ("CMD [\"a\", \"b\"]\n", "(cmd \"a\" \"b\")\n");
    DUMP_EQ("CMD [\"a\", 'b']\n", "(cmd \"[\\\"a\\\", 'b']\")\n");
    DUMP_EQ("CMD [\"a\"\n", "(cmd \"[\\\"a\\\"\")\n");
    DUMP_EQ("COPY [\"a b\", \"/c\"]\n", "(copy \"a b\" \"/c\")\n");
    DUMP_EQ("COPY [\"a b\" /c\n", "(copy \"[\\\"a\" \"b\\\"\" \"/c\")\n");
    /* trailing text makes it shell form (BuildKit 80518e257: json.Unmarshal, not a Decoder) */
    DUMP_EQ("RUN [\"echo\", \"\\u00e9\\n\"] trailing\n", "(run \"[\\\"echo\\\", \\\"\\\\u00e9\\\\n\\\"] trailing\")\n");
    parse_err("CMD [\"a\", 1]\n", "arrays must be comprised of strings only");
    parse_err("ENTRYPOINT [\"a\", null]\n", "Dockerfile:1:");
    parse_err("FROM a\nRUN [\"a\", {\"b\": 1}]\n", "Dockerfile:2:");
}

Test(parse, env_and_label_forms)
{
    DUMP_EQ("ENV a=b c=\"d e\"\n", "(env \"a\" \"b\" \"=\" \"c\" \"\\\"d e\\\"\" \"=\")\n");
    DUMP_EQ("ENV A b c\n", "(env \"A\" \"b c\" \"\")\n");
    DUMP_EQ("LABEL \"a b\"=c\n", "(label \"\\\"a b\\\"\" \"c\" \"=\")\n");
    parse_err("FROM a\nENV PATH\n", "ENV must have two arguments");
    parse_err("LABEL x\n", "LABEL must have two arguments");
    parse_err("ENV a=b c\n", "Syntax error - can't find = in \"c\"");
}

Test(parse, flags_keep_repeats)
{
    df_file *f = parse_ok("RUN --mount=type=cache,target=/a --mount=type=tmpfs,target=/t --network=none echo\n");
    cr_assert_eq(f->instrs[0].n_flags, 3);
    cr_assert_str_eq(f->instrs[0].flags[1].name, "mount");
    cr_assert_str_eq(f->instrs[0].flags[1].value, "type=tmpfs,target=/t");
    bool present;
    cr_assert_str_eq(df_instr_flag(&f->instrs[0], "network", &present), "none");
    cr_assert(present);
    df_instr_flag(&f->instrs[0], "security", &present);
    cr_assert(!present);
    df_file_free(f);
    f = parse_ok("COPY --link --from=\"a b\" x y\n");
    cr_assert_null(f->instrs[0].flags[0].value);
    cr_assert_str_eq(f->instrs[0].flags[1].raw, "--from=a b");
    df_file_free(f);
}

Test(parse, onbuild_nested)
{
    DUMP_EQ("ONBUILD RUN [\"echo\", \"x\"]\n", "(onbuild (run \"echo\" \"x\"))\n");
    DUMP_EQ("ONBUILD COPY --from=a x y\n", "(onbuild (copy [\"--from=a\"] \"x\" \"y\"))\n");
    DUMP_EQ("ONBUILD\n", "(onbuild)\n");
}

Test(parse, heredocs)
{
    df_file *f = parse_ok("FROM a\nRUN <<EOT bash\n  set -e\n  echo $HOME\nEOT\nCOPY <<-'A' <<B /d/\n\tx\n\tA\ny\nB\nRUN echo hi\n");
    cr_assert_eq(f->n_instrs, 4);
    const df_instr *r = &f->instrs[1];
    cr_assert_eq(r->n_heredocs, 1);
    cr_assert_str_eq(r->heredocs[0].name, "EOT");
    cr_assert_str_eq(r->heredocs[0].content, "  set -e\n  echo $HOME\n");
    cr_assert(r->heredocs[0].expand);
    cr_assert_eq(r->start_line, 2);
    cr_assert_eq(r->end_line, 5);
    const df_instr *c = &f->instrs[2];
    cr_assert_eq(c->n_heredocs, 2);
    cr_assert_str_eq(c->heredocs[0].name, "A");
    cr_assert(!c->heredocs[0].expand);
    cr_assert(c->heredocs[0].chomp);
    cr_assert_str_eq(c->heredocs[0].content, "\tx\n");
    char *ch = df_heredoc_chomp(c->heredocs[0].content);
    cr_assert_str_eq(ch, "x\n");
    free(ch);
    cr_assert_str_eq(c->heredocs[1].content, "y\n");
    df_file_free(f);
    parse_err("FROM a\nRUN <<EOF\necho\n", "unterminated heredoc");
    /* JSON RUN never carries heredocs */
    f = parse_ok("RUN [\"<<EOF\"]\nCMD x\n");
    cr_assert_eq(f->instrs[0].n_heredocs, 0);
    cr_assert_eq(f->n_instrs, 2);
    df_file_free(f);
}

Test(parse, errors_name_file_and_line)
{
    parse_err("", "Dockerfile: file with no instructions");
    parse_err("# only\n\n   # comments\n", "file with no instructions");
    parse_err("FROM a\n\nCMD [\"x\", [\"y\"]]\n", "Dockerfile:3: when using JSON array syntax");
    parse_err("FROM a\n\nCMD [\"x\", [\"y\"]]\n", "    3 | CMD [\"x\", [\"y\"]]");
}

Test(parse, long_lines)
{
    cb_buf b;
    cb_buf_init(&b);
    cb_buf_puts(&b, "FROM a\nRUN ");
    for (int i = 0; i < 70000; i++)
        cb_buf_putc(&b, 'x');
    cb_buf_puts(&b, "\n");
    df_file *f = NULL;
    cb_err err = {0};
    cr_assert_lt(df_parse(b.data, b.len, "Dockerfile", &f, &err), 0);
    cr_assert(strstr(err.msg, "dockerfile line greater than max allowed size of 65535"), "%s", err.msg);
    cb_buf_free(&b);
}

Test(parse, bom_crlf_and_nul)
{
    df_file *f = parse_ok("\xEF\xBB\xBF" "FROM a\r\nRUN b \\\r\n c\r\n");
    cr_assert_str_eq(f->instrs[0].args.v[0], "a");
    cr_assert_str_eq(f->instrs[1].args.v[0], "b  c");
    df_file_free(f);
    const char src[] = "RUN a\0b\n";
    f = NULL;
    cb_err err = {0};
    cr_assert_eq(df_parse(src, sizeof(src) - 1, "Dockerfile", &f, &err), 0);
    cb_buf b;
    cb_buf_init(&b);
    df_file_dump(f, &b);
    cr_assert_str_eq(b.data, "(run \"a\\x00b\")\n");
    cb_buf_free(&b);
    df_file_free(f);
}

Test(parse, unknown_instruction_kept_in_ast)
{
    DUMP_EQ("FROM a\nFRM b\n", "(from \"a\")\n(frm \"\")\n");
}

Test(parse, split_words_and_quote)
{
    cb_strv v;
    cb_strv_init(&v);
    df_split_words("a 'b c' \"d\\\" e\" f\\ g", '\\', &v);
    cr_assert_eq(v.n, 4);
    cr_assert_str_eq(v.v[1], "'b c'");
    cr_assert_str_eq(v.v[2], "\"d\\\" e\"");
    cr_assert_str_eq(v.v[3], "f\\ g");
    cb_strv_free(&v);
    cb_buf b;
    cb_buf_init(&b);
    df_go_quote(&b, "a\"\\\x01\x7f\xff\u00e9\u200b", strlen("a\"\\\x01\x7f\xff\u00e9\u200b"));
    cr_assert_str_eq(b.data, "\"a\\\"\\\\\\x01\\x7f\\xffé\\u200b\"");
    cb_buf_free(&b);
}
