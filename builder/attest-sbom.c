/* The SBOM attestation (--sbom): BuildKit runs a scanner image (syft) over the result; cbuild
 * reads the image's package databases itself and writes an SPDX 2.3 document. */
#include "attest-sbom.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define SBOM_MAX_FILES 10000
#define SBOM_MAX_BYTES (256ull << 20)

typedef struct sbom {
    json_t *packages, *files, *rels;
    int seq;
} sbom;

/* SPDX ids allow letters, digits, '.' and '-' only. */
static char *spdx_id(const char *kind, const char *name, int seq)
{
    char *id = xasprintf("SPDXRef-%s-%s-%d", kind, name, seq);
    for (char *p = id + 8; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
              *p == '-'))
            *p = '-';
    return id;
}

static void sbom_package(sbom *s, const char *type, const char *distro, const char *name, const char *version,
                         const char *arch)
{
    cleanup_free char *id = spdx_id("Package", name, ++s->seq);
    cb_buf purl;
    cb_buf_init(&purl);
    cb_buf_printf(&purl, "pkg:%s/%s%s%s@%s", type, distro ? distro : "", distro ? "/" : "", name,
                  version ? version : "");
    if (arch)
        cb_buf_printf(&purl, "?arch=%s", arch);
    json_t *p = json_pack("{sssssssssssbssssss}", "name", name, "SPDXID", id, "versionInfo",
                          version ? version : "", "downloadLocation", "NOASSERTION", "supplier",
                          "NOASSERTION", "filesAnalyzed", 0, "licenseConcluded", "NOASSERTION",
                          "licenseDeclared", "NOASSERTION", "copyrightText", "NOASSERTION");
    json_object_set_new(p, "externalRefs",
                        json_pack("[{ssssss}]", "referenceCategory", "PACKAGE-MANAGER", "referenceType",
                                  "purl", "referenceLocator", purl.data));
    cb_buf_free(&purl);
    json_array_append_new(s->packages, p);
    json_array_append_new(s->rels, json_pack("{ssssss}", "spdxElementId", "SPDXRef-Image", "relationshipType",
                                             "CONTAINS", "relatedSpdxElement", id));
}

/* Records separated by blank lines, "Key: value" (dpkg) or "K:value" (apk) lines. */
static const char *field(const char *rec, const char *key, char *buf, size_t len)
{
    size_t kl = strlen(key);
    for (const char *l = rec; l && *l && *l != '\n';) {
        if (!strncmp(l, key, kl)) {
            const char *v = l + kl;
            while (*v == ' ')
                v++;
            size_t n = strcspn(v, "\n");
            snprintf(buf, len, "%.*s", (int)n, v);
            return buf;
        }
        l = strchr(l, '\n');
        if (l)
            l++;
    }
    return NULL;
}

/* dpkg (distro from /etc/os-release ID) or apk: one package per installed record. */
static int scan_db(sbom *s, const char *db, bool dpkg, const char *distro)
{
    int n = 0;
    for (const char *rec = db; rec && *rec;) {
        char name[256], ver[256], arch[64], status[128];
        const char *nm = field(rec, dpkg ? "Package:" : "P:", name, sizeof name);
        const char *st = dpkg ? field(rec, "Status:", status, sizeof status) : "installed";
        if (nm && st && strstr(st, "installed") && !strstr(st, "not-installed")) {
            sbom_package(s, dpkg ? "deb" : "apk", distro, nm,
                         field(rec, dpkg ? "Version:" : "V:", ver, sizeof ver),
                         field(rec, dpkg ? "Architecture:" : "A:", arch, sizeof arch));
            n++;
        }
        const char *end = strstr(rec, "\n\n");
        rec = end ? end + 2 : NULL;
        while (rec && *rec == '\n')
            rec++;
    }
    return n;
}

static void hex_digest(const EVP_MD *md, const void *data, size_t n, char *out)
{
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned int hl = 0;
    EVP_Digest(data, n, h, &hl, md, NULL);
    for (unsigned int i = 0; i < hl; i++)
        sprintf(out + 2 * i, "%02x", h[i]);
}

typedef struct walk {
    sbom *s;
    bl_rootfs *r;
    size_t files;
    uint64_t bytes;
    bool truncated;
} walk;

/* Regular files with their SHA1 and SHA256 (SPDX 2.3 requires SHA1), up to the caps. */
static int scan_files(walk *w, const char *dir, cb_err *err)
{
    cb_strv names;
    cb_strv_init(&names);
    int rc = bl_rootfs_readdir(w->r, dir, &names, err);
    for (size_t i = 0; rc == 0 && i < names.n && !w->truncated; i++) {
        cleanup_free char *p = xasprintf("%s/%s", strcmp(dir, "/") ? dir : "", names.v[i]);
        bl_node nd;
        if (bl_rootfs_lookup(w->r, p, &nd, err) < 0) {
            cb_err_clear(err);
            continue;
        }
        if (S_ISDIR(nd.st.mode)) {
            rc = scan_files(w, p, err);
            continue;
        }
        if (!S_ISREG(nd.st.mode))
            continue;
        if (w->files >= SBOM_MAX_FILES || w->bytes + nd.st.size > SBOM_MAX_BYTES) {
            w->truncated = true;
            break;
        }
        cb_buf data;
        cb_buf_init(&data);
        if ((rc = bl_rootfs_read(w->r, &nd, &data, err)) == 0) {
            char sha1[41] = "", sha256[65] = "";
            hex_digest(EVP_sha1(), data.data ? data.data : "", data.len, sha1);
            hex_digest(EVP_sha256(), data.data ? data.data : "", data.len, sha256);
            cleanup_free char *id = spdx_id("File", names.v[i], (int)++w->files);
            cleanup_free char *fname = xasprintf(".%s", p);
            json_array_append_new(w->s->files, json_pack("{ssss s[{ssss}{ssss}] ssss}", "fileName", fname,
                                                         "SPDXID", id, "checksums", "algorithm", "SHA1",
                                                         "checksumValue", sha1, "algorithm", "SHA256",
                                                         "checksumValue", sha256, "licenseConcluded",
                                                         "NOASSERTION", "copyrightText", "NOASSERTION"));
            json_array_append_new(w->s->rels,
                                  json_pack("{ssssss}", "spdxElementId", "SPDXRef-Image", "relationshipType",
                                            "CONTAINS", "relatedSpdxElement", id));
            w->bytes += data.len;
        }
        cb_buf_free(&data);
    }
    cb_strv_free(&names);
    return rc;
}

static bool read_path(bl_rootfs *r, const char *path, cb_buf *out)
{
    bl_node nd;
    cb_err e;
    cb_err_clear(&e);
    return bl_rootfs_lookup(r, path, &nd, &e) == 0 && S_ISREG(nd.st.mode) &&
           bl_rootfs_read(r, &nd, out, &e) == 0;
}

/* What the image holds: the comment for the document. */
static int sbom_scan(bl_build *b, const bl_chain *chain, sbom *s, char **comment, cb_err *err)
{
    if (!chain->n) {
        *comment = xstrdup("cbuild: the image has no layers: nothing to scan");
        return 0;
    }
    cb_strv paths;
    cb_strv_init(&paths);
    bl_rootfs *r = NULL;
    int rc = bl_chain_images(b->st, chain, &paths, err);
    if (rc == 0)
        rc = bl_rootfs_open(&paths, &r, err);
    cb_strv_free(&paths);
    if (rc < 0)
        return cb_error_wrap(err, "sbom: reading the image");
    cb_buf db, osr;
    cb_buf_init(&db);
    cb_buf_init(&osr);
    char distro[64] = "";
    if (read_path(r, "/etc/os-release", &osr) || read_path(r, "/usr/lib/os-release", &osr)) {
        const char *id = strstr(osr.data, "\nID=")            ? strstr(osr.data, "\nID=") + 4
                         : cb_str_has_prefix(osr.data, "ID=") ? osr.data + 3
                                                              : NULL;
        if (id)
            snprintf(distro, sizeof distro, "%.*s", (int)strcspn(id + (*id == '"'), "\"\n"),
                     id + (*id == '"'));
    }
    if (read_path(r, "/var/lib/dpkg/status", &db)) {
        int n = scan_db(s, db.data, true, *distro ? distro : "debian");
        *comment = xasprintf("cbuild: %d packages from /var/lib/dpkg/status; files not listed", n);
    } else if (read_path(r, "/lib/apk/db/installed", &db)) {
        int n = scan_db(s, db.data, false, *distro ? distro : "alpine");
        *comment = xasprintf("cbuild: %d packages from /lib/apk/db/installed; files not listed", n);
    } else {
        walk w = {s, r, 0, 0, false};
        rc = scan_files(&w, "/", err);
        *comment =
            w.truncated
                ? xasprintf("cbuild: no package database (dpkg, apk); the first %zu regular files "
                            "listed, the rest (over %d files or %llu MiB) not scanned",
                            w.files, SBOM_MAX_FILES, (unsigned long long)(SBOM_MAX_BYTES >> 20))
                : xasprintf("cbuild: no package database (dpkg, apk): %zu regular files listed", w.files);
    }
    cb_buf_free(&db);
    cb_buf_free(&osr);
    bl_rootfs_free(r);
    return rc;
}

int bl_sbom_document(bl_build *b, const bl_chain *chain, const char *platform, json_t **out, cb_err *err)
{
    sbom s = {json_array(), json_array(), json_array(), 0};
    cleanup_free char *comment = NULL;
    int rc = sbom_scan(b, chain, &s, &comment, err);
    if (rc < 0) {
        json_decref(s.packages);
        json_decref(s.files);
        json_decref(s.rels);
        return rc;
    }
    char created[32];
    bl_time_str(b->epoch >= 0 ? b->epoch : bl_now(), created);
    char ns_hash[CB_DIGEST_STR_LEN];
    cleanup_free char *seed = xasprintf("%s %s %zu", platform ? platform : "", created, chain->n);
    cb_sha256_buf(seed, strlen(seed), ns_hash);
    cleanup_free char *ns = xasprintf("https://cbuild.invalid/spdx/%s", ns_hash + 7);
    const char *name = b->opts->tags && b->opts->tags->n ? b->opts->tags->v[0] : "image";
    json_t *root = json_pack("{sssssssssssbssssss}", "name", name, "SPDXID", "SPDXRef-Image", "versionInfo",
                             platform ? platform : "", "downloadLocation", "NOASSERTION", "supplier",
                             "NOASSERTION", "filesAnalyzed", 0, "licenseConcluded", "NOASSERTION",
                             "licenseDeclared", "NOASSERTION", "copyrightText", "NOASSERTION");
    json_array_insert_new(s.packages, 0, root);
    json_array_insert_new(s.rels, 0,
                          json_pack("{ssssss}", "spdxElementId", "SPDXRef-DOCUMENT", "relationshipType",
                                    "DESCRIBES", "relatedSpdxElement", "SPDXRef-Image"));
    json_t *doc =
        json_pack("{sssssssssss{sss[s]}ssso}", "spdxVersion", "SPDX-2.3", "dataLicense", "CC0-1.0", "SPDXID",
                  "SPDXRef-DOCUMENT", "name", name, "documentNamespace", ns, "creationInfo", "created",
                  created, "creators", "Tool: cbuild", "comment", comment, "packages", s.packages);
    if (json_array_size(s.files))
        json_object_set_new(doc, "files", s.files);
    else
        json_decref(s.files);
    json_object_set_new(doc, "relationships", s.rels);
    *out = doc;
    return 0;
}
