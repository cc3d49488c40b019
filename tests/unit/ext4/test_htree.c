/* Directory hashes must agree with e2fsprogs (debugfs dx_hash) or the kernel cannot find
 * names in our htree directories; large directories must pass e2fsck's htree checks. */
#include "helpers.h"
#include "internal.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static char *dir;
static void setup(void) { dir = mk_tmpdir(); }
static void teardown(void) { rm_tmpdir(dir); }
TestSuite(htree, .init = setup, .fini = teardown);

static void check_names(const char *img, const char *alg, int version)
{
    static const char *names[] = {"a", "hello", "file-with-a-longish-name-012345", "ünïcødé ファイル",
                                  "a-name-longer-than-thirty-two-bytes-so-two-blocks-are-hashed", " spaces ",
                                  "\xff\x80\x7f"};
    const char *uuid = "12345678-1234-5678-9abc-def012345678";
    uint8_t seedb[16] = {0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78};
    uint32_t seed[4];
    memcpy(seed, seedb, 16);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char *out;
        cr_assert_eq(sh(&out, "debugfs -R 'dx_hash -h %s -s %s \"%s\"' %s", alg, uuid, names[i], img), 0);
        char *p = strstr(out, " is 0x");
        cr_assert_not_null(p, "%s", out);
        unsigned long want = strtoul(p + 4, NULL, 16);
        char *m = strstr(out, "minor 0x");
        unsigned long wantm = m ? strtoul(m + 6, NULL, 16) : 0;
        uint32_t h, mi;
        ext4_dirhash(version, seed, names[i], strlen(names[i]), &h, &mi);
        cr_assert_eq(h, want, "%s hash of `%s`: ours 0x%08x, e2fsprogs 0x%08lx", alg, names[i], h, want);
        if (m)
            cr_assert_eq(mi, wantm, "%s minor hash of `%s`", alg, names[i]);
        free(out);
    }
}

Test(htree, hashes_match_e2fsprogs)
{
    char *img = xasprintf("%s/h.img", dir);
    cb_err err = {0};
    cr_assert_eq(ext4_create_empty(img, 16 << 20, NULL, NULL, &err), 0, "%s", err.msg);
    check_names(img, "half_md4", DX_HASH_HALF_MD4);
    check_names(img, "tea", DX_HASH_TEA);
    check_names(img, "legacy", DX_HASH_LEGACY);
    free(img);
}

Test(htree, big_directories_pass_e2fsck, .timeout = 120)
{
    /* 40 entries fit one block; 3000 need a one-level htree; 80000 a two-level one */
    size_t counts[] = {40, 3000, 80000};
    for (size_t c = 0; c < 3; c++) {
        char *img = xasprintf("%s/d%zu.img", dir, c);
        cb_err err = {0};
        ext4_writer *w;
        cr_assert_eq(ext4_writer_new(img, NULL, &w, &err), 0, "%s", err.msg);
        for (size_t i = 0; i < counts[c]; i++) {
            char name[128];
            snprintf(name, sizeof name, "dir/entry-%s%zu", c == 2 ? "with-a-longer-name-so-blocks-fill-up-" : "", i);
            ext4_entry e = ent(name, (i % 7 == 0 ? S_IFDIR : S_IFREG) | 0644);
            int r = S_ISDIR(e.mode) ? ext4_writer_add_dir(w, &e, NULL, 0, &err)
                                    : ext4_writer_add_file_buf(w, &e, NULL, 0, NULL, 0, &err);
            cr_assert_eq(r, 0, "%s", err.msg);
        }
        cr_assert_eq(ext4_writer_finish(w, &err), 0, "%s", err.msg);
        ext4_writer_free(w);
        cr_assert_eq(fsck_clean(img), 0);
        char *out;
        cr_assert_eq(sh(&out, "debugfs -R 'htree_dump /dir' %s 2>&1 | head -12", img), 0);
        if (c == 0)
            cr_assert(strstr(out, "Not a hash-indexed directory"), "%s", out);
        else
            cr_assert(strstr(out, c == 1 ? "Indirect levels: 0" : "Indirect levels: 1"), "%s", out);
        free(out);
        cr_assert_eq(sh(&out, "debugfs -R 'stat /dir/entry-%s%zu' %s", c == 2 ? "with-a-longer-name-so-blocks-fill-up-" : "",
                        counts[c] - 1, img), 0);
        cr_assert(strstr(out, "Inode:"), "lookup through the htree: %s", out);
        free(out);
        free(img);
    }
}
