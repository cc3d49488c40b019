/* The Go template engine of --format (builder/cli/template.c): each construct against what
 * Go's text/template prints for the same template and data (docker's functions added), and
 * each error with Go's wording, line and column. */
#include <criterion/criterion.h>
#include <string.h>

#include "template.h"

/* docker image inspect's shape, trimmed */
static const char *data_json =
    "{\"Id\":\"sha256:abc123\",\"RepoTags\":[\"eco/app:1\",\"eco/app:latest\"],\"RepoDigests\":[],"
    "\"Size\":1234567,\"Os\":\"linux\",\"Architecture\":\"amd64\",\"Ratio\":0.5,\"Mega\":2500000.0,\"Big\":"
    "1e21,"
    "\"Config\":{\"Env\":[\"PATH=/bin\",\"A=b c\"],\"Cmd\":[\"sh\"],\"Entrypoint\":null,\"WorkingDir\":\"\","
    "\"Labels\":{\"org.x\":\"1\",\"b\":\"two\"},\"ExposedPorts\":{\"80/tcp\":{}},\"User\":\"app\"},"
    "\"RootFS\":{\"Type\":\"layers\",\"Layers\":[\"sha256:l1\",\"sha256:l2\"]},\"Empty\":[],\"Flag\":true,"
    "\"Name\":\"hello world\",\"Html\":\"<a&b>\"}";

static json_t *data(void)
{
    json_error_t je;
    json_t *d = json_loads(data_json, 0, &je);
    cr_assert_not_null(d, "%s", je.text);
    return d;
}

static void expect(const char *tpl, const char *want)
{
    json_t *d = data();
    cb_buf b;
    cb_buf_init(&b);
    cb_err err = {0};
    int rc = cli_template_render(tpl, d, &b, &err);
    cr_assert_eq(rc, 0, "template `%s` failed: %s", tpl, err.msg);
    cr_expect_str_eq(b.data ? b.data : "", want, "template `%s`", tpl);
    cb_buf_free(&b);
    json_decref(d);
}

static void expect_error(const char *tpl, const char *want)
{
    json_t *d = data();
    cb_buf b;
    cb_buf_init(&b);
    cb_err err = {0};
    int rc = cli_template_render(tpl, d, &b, &err);
    cr_assert_lt(rc, 0, "template `%s` unexpectedly succeeded: `%s`", tpl, b.data ? b.data : "");
    cr_expect_str_eq(err.msg, want, "template `%s`", tpl);
    cb_buf_free(&b);
    json_decref(d);
}

/* fields and printing as Go's %v */
Test(template, text_only)
{
    expect("plain text", "plain text");
}
Test(template, field_string)
{
    expect("{{.Id}}", "sha256:abc123");
}
Test(template, nested_field)
{
    expect("{{.RootFS.Type}}", "layers");
}
Test(template, integer_field)
{
    expect("{{.Size}}", "1234567");
}
Test(template, float_field)
{
    expect("{{.Ratio}} {{.Mega}} {{.Big}}", "0.5 2.5e+06 1e+21");
}
Test(template, bool_field)
{
    expect("{{.Flag}}", "true");
}
Test(template, slice_prints_like_go)
{
    expect("{{.Config.Env}}", "[PATH=/bin A=b c]");
}
Test(template, map_prints_sorted)
{
    expect("{{.Config.Labels}}", "map[b:two org.x:1]");
}
Test(template, nested_map_in_map)
{
    expect("{{.Config.ExposedPorts}}", "map[80/tcp:map[]]");
}
Test(template, missing_key_no_value)
{
    expect("{{.Nope}}|{{.Config.Nope.Deeper}}", "<no value>|<no value>");
}
Test(template, null_is_no_value)
{
    expect("{{.Config.Entrypoint}}", "<no value>");
}
Test(template, empty_slice)
{
    expect("{{.Empty}}", "[]");
}
Test(template, dot_is_data_map)
{
    expect("{{.RootFS}}", "map[Layers:[sha256:l1 sha256:l2] Type:layers]");
}
Test(template, field_on_string_fails)
{
    expect_error("{{.Id.Foo}}",
                 "template: :1:5: executing \"\" at <.Id.Foo>: can't evaluate field Foo in type string");
}

/* functions */
Test(template, json_of_slice)
{
    expect("{{json .Config.Env}}", "[\"PATH=/bin\",\"A=b c\"]");
}
Test(template, json_keeps_html)
{
    expect("{{json .Html}}", "\"<a&b>\"");
}
Test(template, json_of_missing)
{
    expect("{{json .Nope}}", "null");
}
Test(template, index_map)
{
    expect("{{index .Config.Labels \"org.x\"}}", "1");
}
Test(template, index_missing_label_is_empty)
{
    expect("[{{index .Config.Labels \"zz\"}}]", "[]");
}
Test(template, index_slice)
{
    expect("{{index .RootFS.Layers 1}}", "sha256:l2");
}
Test(template, index_out_of_range)
{
    expect_error("{{index .RootFS.Layers 5}}",
                 "template: :1:2: executing \"\" at <index .RootFS.Layers 5>: error "
                 "calling index: index out of range: 5");
}
Test(template, len_of_each)
{
    expect("{{len .Config.Env}} {{len .Config.Labels}} {{len .Id}}", "2 2 13");
}
Test(template, len_of_int_fails)
{
    expect_error("{{len .Size}}",
                 "template: :1:2: executing \"\" at <len .Size>: error calling len: len of type int64");
}
Test(template, join)
{
    expect("{{join .Config.Env \",\"}}", "PATH=/bin,A=b c");
}
Test(template, split_then_index)
{
    expect("{{index (split .Id \":\") 1}}", "abc123");
}
Test(template, split_prints_slice)
{
    expect("{{split \"a,b,c\" \",\"}}", "[a b c]");
}
Test(template, upper_lower)
{
    expect("{{upper .Os}} {{lower \"AbC\"}}", "LINUX abc");
}
Test(template, title)
{
    expect("{{title .Name}}", "Hello World");
}
Test(template, pad_and_truncate)
{
    expect("[{{pad .Os 1 2}}]{{truncate .Id 6}}", "[ linux  ]sha256");
}
Test(template, printf_verbs)
{
    expect("{{printf \"%s=%d %5.2f|%-4s|%q %v %x\" .Os .Size .Ratio \"ab\" .Name .Flag 255}}",
           "linux=1234567  0.50|ab  |\"hello world\" true ff");
}
Test(template, printf_wrong_and_missing)
{
    expect("{{printf \"%d %s %d\" .Os 3}}", "%!d(string=linux) %!s(int64=3) %!d(MISSING)");
}
Test(template, printf_extra)
{
    expect("{{printf \"x\" 1 \"a\"}}", "x%!(EXTRA int64=1, string=a)");
}
Test(template, print_and_println)
{
    expect("{{print 1 2 \"a\" \"b\" 3}}|{{println .Os 1}}", "1 2ab3|linux 1\n");
}
Test(template, comparisons)
{
    expect("{{eq .Os \"linux\"}} {{ne .Size 1}} {{lt 1 2}} {{le 2 2}} {{gt \"b\" \"a\"}} {{ge 1 2}} {{eq .Os "
           "\"x\" \"linux\"}}",
           "true true true true true false true");
}
Test(template, compare_incompatible)
{
    expect_error("{{eq .Os 1}}",
                 "template: :1:2: executing \"\" at <eq .Os 1>: error calling eq: incompatible types "
                 "for comparison");
}
Test(template, and_or_not)
{
    expect("{{and 1 .Os}} {{or 0 \"\" .Id}} {{not .Empty}} {{and .Empty .Nope}}",
           "linux sha256:abc123 true []");
}
Test(template, slice_fn)
{
    expect("{{slice .Id 0 6}} {{slice .RootFS.Layers 1}}", "sha256 [sha256:l2]");
}

/* pipelines and variables */
Test(template, pipeline_last_arg)
{
    expect("{{.Os | upper}} {{\"a:b\" | split .Id | len}}", "LINUX 1");
}
/* the piped value is join's last argument, the separator: Go fails the same way */
Test(template, pipeline_join_order)
{
    expect_error("{{.Config.Env | join \";\"}}",
                 "template: :1:16: executing \"\" at <join \";\">: wrong type for "
                 "value; expected []string; got string");
}
Test(template, pipeline_printf)
{
    expect("{{.Size | printf \"%d bytes\"}}", "1234567 bytes");
}
Test(template, parenthesized_field)
{
    expect("{{(index .RootFS.Layers 0)}} {{(.RootFS).Type}}", "sha256:l1 layers");
}
Test(template, variable_declare_and_use)
{
    expect("{{$x := .Os}}{{$x}}-{{$x | len}}", "linux-5");
}
Test(template, variable_assign)
{
    expect("{{$x := 1}}{{if .Flag}}{{$x = 2}}{{end}}{{$x}}", "2");
}
Test(template, dollar_is_root)
{
    expect("{{range .Config.Cmd}}{{$.Os}}:{{.}}{{end}}", "linux:sh");
}
Test(template, variable_field)
{
    expect("{{$c := .Config}}{{$c.User}}", "app");
}

/* control structures */
Test(template, if_else)
{
    expect("{{if .Flag}}yes{{else}}no{{end}} {{if .Empty}}yes{{else}}no{{end}}", "yes no");
}
Test(template, else_if)
{
    expect("{{if .Empty}}a{{else if .Nope}}b{{else if .Os}}c{{else}}d{{end}}", "c");
}
Test(template, with_sets_dot)
{
    expect("{{with .RootFS}}{{.Type}}{{end}}{{with .Nope}}x{{else}}none{{end}}", "layersnone");
}
Test(template, range_slice)
{
    expect("{{range .Config.Env}}[{{.}}]{{end}}", "[PATH=/bin][A=b c]");
}
Test(template, range_index_elem)
{
    expect("{{range $i, $e := .RootFS.Layers}}{{$i}}={{$e}} {{end}}", "0=sha256:l1 1=sha256:l2 ");
}
Test(template, range_map_sorted)
{
    expect("{{range $k, $v := .Config.Labels}}{{$k}}:{{$v}};{{end}}", "b:two;org.x:1;");
}
Test(template, range_else)
{
    expect("{{range .Empty}}x{{else}}empty{{end}}", "empty");
}
Test(template, range_break_continue)
{
    expect("{{range $i, $e := .Config.Env}}{{if eq $i 0}}{{continue}}{{end}}{{$e}}{{break}}{{end}}", "A=b c");
}
Test(template, range_over_string_fails)
{
    expect_error("{{range .Os}}{{end}}",
                 "template: :1:8: executing \"\" at <{{range .Os}}{{end}}>: range can't iterate over linux");
}

/* whitespace, comments, literals */
Test(template, trim_markers)
{
    expect("a  {{- .Os -}}  \n b", "alinuxb");
}
Test(template, trim_in_range)
{
    expect("{{range .Config.Cmd -}}\n  {{.}}\n{{- end}}", "sh");
}
Test(template, negative_number_not_trim)
{
    expect("{{-3}}", "-3");
}
Test(template, comment)
{
    expect("a{{/* a comment */}}b{{- /* trimmed */ -}} c", "abc");
}
Test(template, string_literals)
{
    expect("{{\"q\\\"\\t\"}}{{`raw\\n`}}{{'a'}}", "q\"\traw\\n97");
}
Test(template, table_header_style)
{
    expect("{{.Os}}\t{{.Architecture}}", "linux\tamd64");
}
Test(template, multi_line_error_column)
{
    expect_error("line1\n  {{.Id.X}}",
                 "template: :2:7: executing \"\" at <.Id.X>: can't evaluate field X in type string");
}

/* parse errors */
Test(template, unknown_function)
{
    expect_error("{{.Os | foo}}", "template: :1:8: function \"foo\" not defined");
}
Test(template, unsupported_go_function)
{
    expect_error("{{html .Os}}", "template: :1:2: function \"html\" is not supported by cbuild");
}
Test(template, unsupported_define)
{
    expect_error("{{define \"x\"}}{{end}}", "template: :1:2: {{define}} is not supported by cbuild");
}
Test(template, unclosed_action)
{
    expect_error("{{.Os", "template: :1: unclosed action");
}
Test(template, unexpected_eof)
{
    expect_error("{{if .Os}}x", "template: :1: unexpected EOF");
}
Test(template, stray_end)
{
    expect_error("x{{end}}", "template: :1: unexpected {{end}}");
}
Test(template, empty_action)
{
    expect_error("{{}}", "template: :1: missing value for command");
}
Test(template, missing_if_value)
{
    expect_error("{{if}}{{end}}", "template: :1: missing value for if");
}
Test(template, undefined_variable)
{
    expect_error("{{$x}}", "template: :1: undefined variable \"$x\"");
}
Test(template, variable_out_of_scope)
{
    expect_error("{{if 1}}{{$y := 2}}{{end}}{{$y}}", "template: :1: undefined variable \"$y\"");
}
Test(template, unterminated_string)
{
    expect_error("{{\"abc}}", "template: :1: unterminated quoted string");
}
Test(template, bad_character)
{
    expect_error("{{.Os # x}}", "template: :1: unrecognized character in action: U+0023 '#'");
}
Test(template, break_outside_range)
{
    expect_error("{{break}}", "template: :1: {{break}} outside {{range}}");
}
Test(template, argument_to_non_function)
{
    expect_error("{{.Os 1}}",
                 "template: :1:2: executing \"\" at <.Os>: Os is not a method but has arguments");
}
Test(template, argument_to_literal)
{
    expect_error("{{\"x\" 1}}",
                 "template: :1:2: executing \"\" at <\"x\" 1>: can't give argument to non-function \"x\"");
}
Test(template, wrong_arg_count)
{
    expect_error("{{join .Config.Env}}",
                 "template: :1:2: executing \"\" at <join .Config.Env>: wrong number of args "
                 "for join: want 2 got 1");
}
Test(template, unclosed_paren)
{
    expect_error("{{(.Os}}", "template: :1: unclosed left paren");
}

/* more of what docker users write */
Test(template, with_declares)
{
    expect("{{with $r := .RootFS}}{{$r.Type}}/{{.Type}}{{end}}", "layers/layers");
}
Test(template, if_declares)
{
    expect("{{if $o := .Os}}{{$o}}{{else}}{{$o}}none{{end}}", "linux");
}
Test(template, range_one_variable)
{
    expect("{{range $e := .Config.Cmd}}{{$e}}{{end}}", "sh");
}
Test(template, else_with_chain)
{
    expect("{{with .Nope}}a{{else with .Os}}{{.}}{{end}}", "linux");
}
Test(template, pipeline_three_stages)
{
    expect("{{.Config.Env | len | printf \"%d vars\"}}", "2 vars");
}
Test(template, index_then_pipe)
{
    expect("{{index .Config.Labels \"b\" | upper}} {{len (index .Config.Labels \"b\")}}", "TWO 3");
}
Test(template, printf_s_of_slice_and_map)
{
    expect("{{printf \"%s|%v\" .Config.Env .Config.Labels}}", "[PATH=/bin A=b c]|map[b:two org.x:1]");
}
Test(template, printf_widths_and_signs)
{
    expect("{{printf \"%6.2f|%-6d|%06d|%+d|%t|%c|%x\" 3.14159 42 -42 5 true 65 \"hi\"}}",
           "  3.14|42    |-00042|+5|true|A|6869");
}
Test(template, comment_only)
{
    expect("{{/* nothing */}}", "");
}
Test(template, nested_range_with_root)
{
    expect("{{range .RootFS.Layers}}{{range $.Config.Cmd}}{{.}}{{end}}{{end}}", "shsh");
}

/* struct objects: docker's typed data */
static void expect_structs(const char *tpl, const char *want, bool fails)
{
    json_t *d = data();
    cli_template_struct st[] = {{d, NULL}, {json_object_get(d, "Config"), "container.Config"}};
    cli_template *t;
    cb_err err = {0};
    cr_assert_eq(cli_template_parse(tpl, &t, &err), 0, "%s", err.msg);
    cb_buf b;
    cb_buf_init(&b);
    int rc = cli_template_exec_structs(t, d, st, 2, &b, &err);
    if (fails) {
        cr_assert_lt(rc, 0);
        cr_expect_str_eq(err.msg, want);
    } else {
        cr_assert_eq(rc, 0, "%s", err.msg);
        cr_expect_str_eq(b.data ? b.data : "", want);
    }
    cb_buf_free(&b);
    cli_template_free(t);
    json_decref(d);
}
Test(template, struct_missing_field_fails)
{
    expect_structs("{{.ID}}", "template: :1:2: executing \"\" at <.ID>: map has no entry for key \"ID\"",
                   true);
}
Test(template, struct_missing_nested_field_names_the_type)
{
    expect_structs("{{.Config.Nope}}",
                   "template: :1:9: executing \"\" at <.Config.Nope>: can't evaluate field Nope in type "
                   "container.Config",
                   true);
}
Test(template, struct_map_member_still_no_value)
{
    expect_structs("{{.Config.Labels.zz}} {{.Config.User}}", "<no value> app", false);
}
