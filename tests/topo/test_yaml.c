/* cx_yaml: line numbers, paths, unknown keys, malformed input, typed getters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cx_yaml.h"

static cx_yaml_doc_t *load(const char *text, cx_err_t *err)
{
    cx_yaml_doc_t *doc = NULL;
    cx_status_t    st  = cx_yaml_load_string(&doc, "t.yaml", text, strlen(text), err);
    assert_int_equal(st, CX_OK);
    return doc;
}

static void test_lines_and_paths(void **state)
{
    const char *text = "name: x\n"
                       "fabric:\n"
                       "  tiers:\n"
                       "    - {radix: 64}\n"
                       "    - radix: 128\n"
                       "      up: 3\n";
    cx_err_t              err;
    cx_yaml_doc_t        *doc = load(text, &err);
    const cx_yaml_node_t *fab = cx_yaml_get(cx_yaml_root(doc), "fabric");
    const cx_yaml_node_t *tiers = cx_yaml_get(fab, "tiers");
    const cx_yaml_node_t *t1, *r;
    (void)state;
    assert_non_null(tiers);
    assert_int_equal(tiers->kind, CX_YAML_SEQ);
    assert_int_equal(tiers->n_children, 2);
    t1 = tiers->children[1];
    r  = cx_yaml_get(t1, "radix");
    assert_int_equal(r->line, 5);
    assert_int_equal(r->column, 14);
    assert_string_equal(r->path, "fabric.tiers[1].radix");
    assert_int_equal(cx_yaml_get(tiers->children[0], "radix")->line, 4);
    assert_string_equal(cx_yaml_get(cx_yaml_get(t1, "up"), "x") == NULL ? "ok" : "bad", "ok");
    assert_string_equal(cx_yaml_file(doc), "t.yaml");
    cx_yaml_free(doc);
}

static void test_unknown_key(void **state)
{
    static const char *const allowed[] = {"radix", "up", NULL};
    cx_err_t                 err;
    cx_yaml_doc_t           *doc = load("tiers:\n  - radix: 1\n    upp: 2\n", &err);
    const cx_yaml_node_t    *t0  = cx_yaml_get(cx_yaml_root(doc), "tiers")->children[0];
    char                     buf[1024];
    (void)state;
    assert_int_equal(cx_yaml_check_keys(t0, allowed, &err), CX_ERR_INVALID);
    cx_err_format(&err, buf, sizeof(buf));
    assert_string_equal(buf, "t.yaml:3: 'tiers[0].upp': unknown key (expected one of: radix, up)");
    cx_yaml_free(doc);
}

static void test_malformed(void **state)
{
    cx_yaml_doc_t *doc = NULL;
    cx_err_t       err;
    const char    *bad = "a: 1\nb: [1, 2\nc: 3\n";
    char           buf[1024];
    (void)state;
    assert_int_equal(cx_yaml_load_string(&doc, "bad.yaml", bad, strlen(bad), &err), CX_ERR_PARSE);
    assert_null(doc);
    assert_true(err.line >= 2);
    cx_err_format(&err, buf, sizeof(buf));
    assert_non_null(strstr(buf, "bad.yaml:"));
    assert_non_null(strstr(buf, "malformed YAML"));
    /* bad indentation */
    bad = "a:\n  b: 1\n c: 2\n";
    assert_int_equal(cx_yaml_load_string(&doc, "bad.yaml", bad, strlen(bad), &err), CX_ERR_PARSE);
    assert_int_equal(err.line, 3);
}

static void test_rejects(void **state)
{
    cx_yaml_doc_t *doc = NULL;
    cx_err_t       err;
    const char    *dup = "a: 1\nb: 2\na: 3\n";
    const char    *ali = "a: &x 1\nb: *x\n";
    const char    *nsk = "? [1, 2]\n: 3\n";
    (void)state;
    assert_int_equal(cx_yaml_load_string(&doc, "d.yaml", dup, strlen(dup), &err), CX_ERR_PARSE);
    assert_int_equal(err.line, 3);
    assert_string_equal(err.field, "a");
    assert_non_null(strstr(err.msg, "duplicate key"));
    assert_int_equal(cx_yaml_load_string(&doc, "d.yaml", ali, strlen(ali), &err), CX_ERR_PARSE);
    assert_int_equal(err.line, 1);
    assert_non_null(strstr(err.msg, "anchors"));
    assert_int_equal(cx_yaml_load_string(&doc, "d.yaml", nsk, strlen(nsk), &err), CX_ERR_PARSE);
    assert_non_null(strstr(err.msg, "keys"));
}

static void test_types(void **state)
{
    const char *text = "n: 12\nbad: twelve\nbig: 500\nf: 2.5\nb: yes\nnb: maybe\ne: json\n"
                       "s: hello\nm: {x: 1}\n";
    static const char *const fmts[] = {"text", "json", NULL};
    cx_err_t                 err;
    cx_yaml_doc_t           *doc  = load(text, &err);
    const cx_yaml_node_t    *root = cx_yaml_root(doc);
    int64_t                  v    = -1;
    double                   d    = 0;
    int                      b    = -1, e = -1;
    const char              *s    = NULL;
    (void)state;
    assert_int_equal(cx_yaml_get_int(root, "n", 1, 0, 100, &v, &err), CX_OK);
    assert_int_equal(v, 12);
    assert_int_equal(cx_yaml_get_int(root, "bad", 1, 0, 100, &v, &err), CX_ERR_INVALID);
    assert_int_equal(err.line, 2);
    assert_string_equal(err.field, "bad");
    assert_non_null(strstr(err.msg, "not an integer"));
    assert_int_equal(cx_yaml_get_int(root, "big", 1, 0, 100, &v, &err), CX_ERR_RANGE);
    assert_int_equal(err.line, 3);
    assert_int_equal(cx_yaml_get_int(root, "absent", 1, 0, 100, &v, &err), CX_ERR_INVALID);
    assert_non_null(strstr(err.msg, "missing required"));
    assert_string_equal(err.field, "absent");
    v = 7;
    assert_int_equal(cx_yaml_get_int(root, "absent", 0, 0, 100, &v, &err), CX_OK);
    assert_int_equal(v, 7);
    assert_int_equal(cx_yaml_get_double(root, "f", 1, 1, 0, &d, &err), CX_OK);
    assert_true(d == 2.5);
    assert_int_equal(cx_yaml_get_bool(root, "b", 1, &b, &err), CX_OK);
    assert_int_equal(b, 1);
    assert_int_equal(cx_yaml_get_bool(root, "nb", 1, &b, &err), CX_ERR_INVALID);
    assert_int_equal(err.line, 6);
    assert_int_equal(cx_yaml_get_enum(root, "e", 1, fmts, &e, &err), CX_OK);
    assert_int_equal(e, 1);
    assert_int_equal(cx_yaml_get_enum(root, "s", 1, fmts, &e, &err), CX_ERR_INVALID);
    assert_non_null(strstr(err.msg, "text, json"));
    assert_int_equal(cx_yaml_get_string(root, "s", 1, &s, &err), CX_OK);
    assert_string_equal(s, "hello");
    assert_int_equal(cx_yaml_get_string(root, "m", 1, &s, &err), CX_ERR_INVALID);
    assert_int_equal(err.line, 9);
    assert_non_null(strstr(err.msg, "expected a scalar"));
    cx_yaml_free(doc);
}

static void test_units(void **state)
{
    const char *text = "a: 400Gbps\nb: 400 Gb/s\nc: 50GB/s\nd: 900 GB/s\ne: 1.6Tbps\nf: fast\n"
                       "g: 80GB\nh: 64K\ni: 600ns\nj: 2\nk: 1.5us\nl: 3 parsecs\n";
    cx_err_t              err;
    cx_yaml_doc_t        *doc  = load(text, &err);
    const cx_yaml_node_t *root = cx_yaml_root(doc);
    double                bw   = 0;
    uint64_t              by   = 0;
    int64_t               ps   = 0;
    (void)state;
    assert_int_equal(cx_yaml_get_bandwidth(root, "a", 1, &bw, &err), CX_OK);
    assert_true(bw == 50e9);
    assert_int_equal(cx_yaml_get_bandwidth(root, "b", 1, &bw, &err), CX_OK);
    assert_true(bw == 50e9);
    assert_int_equal(cx_yaml_get_bandwidth(root, "c", 1, &bw, &err), CX_OK);
    assert_true(bw == 50e9);
    assert_int_equal(cx_yaml_get_bandwidth(root, "d", 1, &bw, &err), CX_OK);
    assert_true(bw == 900e9);
    assert_int_equal(cx_yaml_get_bandwidth(root, "e", 1, &bw, &err), CX_OK);
    assert_true(bw > 199.999e9 && bw < 200.001e9);
    assert_int_equal(cx_yaml_get_bandwidth(root, "f", 1, &bw, &err), CX_ERR_INVALID);
    assert_int_equal(err.line, 6);
    assert_non_null(strstr(err.msg, "not a bandwidth"));
    assert_int_equal(cx_yaml_get_bytes(root, "g", 1, &by, &err), CX_OK);
    assert_true(by == 80ull << 30);
    assert_int_equal(cx_yaml_get_bytes(root, "h", 1, &by, &err), CX_OK);
    assert_true(by == 65536);
    assert_int_equal(cx_yaml_get_bytes(root, "f", 1, &by, &err), CX_ERR_INVALID);
    assert_int_equal(cx_yaml_get_time_ps(root, "i", 1, &ps, &err), CX_OK);
    assert_int_equal(ps, 600000);
    assert_int_equal(cx_yaml_get_time_ps(root, "j", 1, &ps, &err), CX_OK);
    assert_int_equal(ps, 2000000000000LL);
    assert_int_equal(cx_yaml_get_time_ps(root, "k", 1, &ps, &err), CX_OK);
    assert_int_equal(ps, 1500000);
    assert_int_equal(cx_yaml_get_time_ps(root, "l", 1, &ps, &err), CX_ERR_INVALID);
    assert_int_equal(err.line, 12);
    cx_yaml_free(doc);
}

static void test_empty_and_file(void **state)
{
    cx_yaml_doc_t *doc = NULL;
    cx_err_t       err;
    (void)state;
    assert_int_equal(cx_yaml_load_string(&doc, "e.yaml", "", 0, &err), CX_OK);
    assert_int_equal(cx_yaml_root(doc)->kind, CX_YAML_MAP);
    assert_int_equal(cx_yaml_root(doc)->n_children, 0);
    cx_yaml_free(doc);
    assert_int_equal(cx_yaml_load_file(&doc, "/nonexistent/x.yaml", &err), CX_ERR_IO);
    assert_string_equal(err.file, "/nonexistent/x.yaml");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_and_paths), cmocka_unit_test(test_unknown_key),
        cmocka_unit_test(test_malformed),       cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_types),           cmocka_unit_test(test_units),
        cmocka_unit_test(test_empty_and_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
