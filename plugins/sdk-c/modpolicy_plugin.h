/* modpolicy_plugin.h: SDK for modpolicy WebAssembly plugins in C (plugin ABI version 1).
 *
 * A plugin is one function over the graph:
 *
 *     #define MODPOLICY_PLUGIN_IMPLEMENTATION   // in exactly one .c file
 *     #include "modpolicy_plugin.h"
 *
 *     void mp_check(const mp_graph *g, mp_out *out)
 *     {
 *         for (size_t i = 0; i < g->n_modules; i++)
 *             if (!g->modules[i].license)
 *                 mp_finding(out, "no-license", MP_WARN, g->modules[i].name, 0,
 *                            "module has no licence");
 *     }
 *
 * Build (Debian clang 14 and wasm-ld, no libc, nothing imported but modpolicy.log):
 *
 *     clang --target=wasm32 -O2 -ffreestanding -nostdlib -Wl,--no-entry \
 *           -Wl,--strip-all -Wl,--export-dynamic -I plugins/sdk-c -o NAME.wasm NAME.c
 *
 * Built for the host (e.g. `cc -I plugins/sdk-c test.c`), the same code runs natively
 * over an input given to mp_run(), so checks can be unit-tested without wasm.
 *
 * The header hides the ABI: it parses the host's input into the arrays below (strings
 * are NUL-terminated and unescaped, living as long as the run), exports
 * modpolicy_abi_version/modpolicy_alloc/modpolicy_check, and encodes findings. Memory
 * comes from a bump allocator and is never freed: every run is a fresh instance.
 */
#ifndef MODPOLICY_PLUGIN_H
#define MODPOLICY_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#define MP_ABI_VERSION 1

typedef enum { MP_ALLOW = 0, MP_WARN = 1, MP_DENY = 2 } mp_level;
typedef enum { MP_LICENCE_UNKNOWN = 0, MP_LICENCE_ANY = 1, MP_LICENCE_GPL = 2 } mp_licence;
typedef enum { MP_PROVIDER_NONE = 0, MP_PROVIDER_MODULE, MP_PROVIDER_VMLINUX, MP_PROVIDER_DUMP } mp_provider_kind;

typedef struct { const char *key; const char *value; } mp_kv;
/* A file the policy hands over (`files`): raw bytes, also NUL-terminated. */
typedef struct { const char *name; const char *data; size_t len; } mp_file;
typedef struct {
    const char *name;
    uint64_t crc; int has_crc;
    mp_licence licence;
    const char *namespace_; /* NULL when none */
    const char *module;     /* dump records: the module path; NULL otherwise */
} mp_export;
typedef struct {
    const char *name;
    uint64_t crc; int has_crc;
    int weak;
    mp_provider_kind provider_kind;
    const char *provider;   /* module name or dump path; NULL for vmlinux/none */
    mp_export export_;      /* the provider's export (name is NULL when unresolved) */
} mp_import;
typedef struct { const char *kind; const char *module; } mp_softdep;
typedef struct {
    size_t index;
    const char *name, *path;
    const char *license;    /* NULL when none */
    int readable;
    mp_kv *modinfo; size_t n_modinfo;
    mp_export *exports; size_t n_exports;
    mp_import *imports; size_t n_imports;
    mp_softdep *softdeps; size_t n_softdeps;
} mp_module;
typedef struct {
    const char *plugin;
    mp_kv *config; size_t n_config;
    mp_file *files; size_t n_files;
    mp_export *kernel; size_t n_kernel;
    mp_export *dumps; size_t n_dumps;
    mp_module *modules; size_t n_modules;
} mp_graph;
typedef struct mp_out mp_out;

/* The plugin's check: defined by the plugin. */
void mp_check(const mp_graph *g, mp_out *out);

/* Reports a finding; module and symbol may be NULL. */
void mp_finding(mp_out *out, const char *code, mp_level level, const char *module,
                const char *symbol, const char *message);
/* The same, with a message built from pieces: begin, append, end. */
void mp_begin(mp_out *out, const char *code, mp_level level, const char *module, const char *symbol);
void mp_append(mp_out *out, const char *text);
void mp_append_u64(mp_out *out, uint64_t v);
void mp_append_hex(mp_out *out, uint64_t v);
void mp_end(mp_out *out);
/* The last value of config KEY, or NULL. */
const char *mp_config(const mp_graph *g, const char *key);
/* The file the policy named NAME, or NULL. */
const mp_file *mp_file_named(const mp_graph *g, const char *name);
/* Writes a line to the host's log (`modpolicy -v check`). */
void mp_log(const char *text);
/* Helpers. */
size_t mp_strlen(const char *s);
int mp_streq(const char *a, const char *b);
int mp_starts_with(const char *s, const char *prefix);
const char *mp_strstr(const char *haystack, const char *needle);
void *mp_alloc(size_t n);

/* Runs the check over an input blob, returns the output (native tests). */
const char *mp_run(const char *input, size_t len, size_t *out_len);

#ifdef MODPOLICY_PLUGIN_IMPLEMENTATION

#if defined(__wasm__)
#define MP_EXPORT(name) __attribute__((export_name(name)))
extern unsigned char __heap_base;
static uintptr_t mp__brk = 0;
void *mp_alloc(size_t n)
{
    if (!mp__brk)
        mp__brk = (uintptr_t)&__heap_base;
    uintptr_t p = (mp__brk + 15) & ~(uintptr_t)15;
    uintptr_t end = p + n;
    uintptr_t have = __builtin_wasm_memory_size(0) * 65536u;
    if (end > have) {
        uintptr_t pages = (end - have + 65535) / 65536;
        if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1)
            return 0;
    }
    mp__brk = end;
    return (void *)p;
}
__attribute__((import_module("modpolicy"), import_name("log"))) void mp__host_log(const char *p, size_t n);
void mp_log(const char *text) { mp__host_log(text, mp_strlen(text)); }
/* clang emits calls to these even when freestanding */
void *memcpy(void *d, const void *s, size_t n)
{
    unsigned char *dd = d; const unsigned char *ss = s;
    while (n--) *dd++ = *ss++;
    return d;
}
void *memset(void *d, int c, size_t n)
{
    unsigned char *dd = d;
    while (n--) *dd++ = (unsigned char)c;
    return d;
}
#else
#include <stdio.h>
#include <stdlib.h>
void *mp_alloc(size_t n) { return calloc(1, n ? n : 1); }
void mp_log(const char *text) { fprintf(stderr, "[plugin log] %s\n", text); }
#endif

size_t mp_strlen(const char *s) { size_t n = 0; while (s && s[n]) n++; return n; }
int mp_streq(const char *a, const char *b)
{
    if (!a || !b) return a == b;
    while (*a && *a == *b) { a++; b++; }
    return *a == *b;
}
int mp_starts_with(const char *s, const char *p)
{
    if (!s || !p) return 0;
    while (*p) if (*s++ != *p++) return 0;
    return 1;
}
const char *mp_strstr(const char *h, const char *n)
{
    if (!h || !n) return 0;
    for (; *h; h++) if (mp_starts_with(h, n)) return h;
    return *n ? 0 : h;
}

struct mp_out { char *buf; size_t len, cap; int bad; };

static void mp__put(mp_out *o, const char *s, size_t n, int esc)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i], e = 0;
        if (esc) { if (c == '\\') e = '\\'; else if (c == '\t') e = 't'; else if (c == '\n') e = 'n'; else if (c == '\r') e = 'r'; }
        if (o->len + 2 > o->cap) {
            size_t cap = o->cap ? o->cap * 2 : 4096;
            char *nb = mp_alloc(cap);
            if (!nb) { o->bad = 1; return; }
            for (size_t k = 0; k < o->len; k++) nb[k] = o->buf[k];
            o->buf = nb; o->cap = cap;
        }
        if (e) { o->buf[o->len++] = '\\'; o->buf[o->len++] = e; }
        else o->buf[o->len++] = c;
    }
}
static void mp__puts(mp_out *o, const char *s, int esc) { mp__put(o, s, mp_strlen(s), esc); }

void mp_begin(mp_out *o, const char *code, mp_level level, const char *module, const char *symbol)
{
    mp__puts(o, "finding\t", 0);
    mp__puts(o, code, 1);
    mp__puts(o, level == MP_DENY ? "\tdeny\t" : level == MP_WARN ? "\twarn\t" : "\tallow\t", 0);
    mp__puts(o, module && *module ? module : "-", 1);
    mp__puts(o, "\t", 0);
    mp__puts(o, symbol && *symbol ? symbol : "-", 1);
    mp__puts(o, "\t", 0);
}
void mp_append(mp_out *o, const char *text) { mp__puts(o, text ? text : "", 1); }
void mp_append_u64(mp_out *o, uint64_t v)
{
    char b[24]; int i = 23; b[i] = 0;
    do { b[--i] = (char)('0' + v % 10); v /= 10; } while (v);
    mp__puts(o, b + i, 0);
}
void mp_append_hex(mp_out *o, uint64_t v)
{
    char b[24]; int i = 23; b[i] = 0;
    do { b[--i] = "0123456789abcdef"[v & 15]; v >>= 4; } while (v);
    b[--i] = 'x'; b[--i] = '0';
    mp__puts(o, b + i, 0);
}
void mp_end(mp_out *o) { mp__puts(o, "\n", 0); }
void mp_finding(mp_out *o, const char *code, mp_level level, const char *module,
                const char *symbol, const char *message)
{
    mp_begin(o, code, level, module, symbol);
    mp_append(o, message && *message ? message : "-");
    mp_end(o);
}

const char *mp_config(const mp_graph *g, const char *key)
{
    const char *v = 0;
    for (size_t i = 0; i < g->n_config; i++)
        if (mp_streq(g->config[i].key, key)) v = g->config[i].value;
    return v;
}
const mp_file *mp_file_named(const mp_graph *g, const char *name)
{
    for (size_t i = 0; i < g->n_files; i++)
        if (mp_streq(g->files[i].name, name)) return &g->files[i];
    return 0;
}

/* ---- input parsing ---- */

/* Splits the line [p, end) into at most 10 fields in place (NUL-terminated, unescaped). */
static int mp__fields(char *p, char *end, char **f, int max)
{
    int n = 0;
    char *w = p;
    f[n++] = w;
    for (char *r = p; r < end; r++) {
        if (*r == '\t') {
            *w++ = 0;
            if (n < max) f[n++] = w;
        } else if (*r == '\\' && r + 1 < end) {
            r++;
            *w++ = *r == 't' ? '\t' : *r == 'n' ? '\n' : *r == 'r' ? '\r' : *r;
        } else {
            *w++ = *r;
        }
    }
    *w = 0;
    for (int i = n; i < max; i++) f[i] = 0;
    return n;
}
static const char *mp__opt(const char *s) { return !s || !*s || mp_streq(s, "-") ? 0 : s; }
static uint64_t mp__crc(const char *s, int *has)
{
    uint64_t v = 0;
    *has = 0;
    if (!mp_starts_with(s, "0x")) return 0;
    for (s += 2; *s; s++) {
        int d = *s >= '0' && *s <= '9' ? *s - '0' : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10 : -1;
        if (d < 0) return 0;
        v = v * 16 + (uint64_t)d;
    }
    *has = 1;
    return v;
}
static mp_licence mp__lic(const char *s)
{
    return mp_streq(s, "gpl") ? MP_LICENCE_GPL : mp_streq(s, "any") ? MP_LICENCE_ANY : MP_LICENCE_UNKNOWN;
}
static void mp__export(mp_export *e, char **f, int mod)
{
    e->name = f[0];
    e->module = mod ? f[1] : 0;
    if (mod) f++;
    e->crc = mp__crc(f[1] ? f[1] : "", &e->has_crc);
    e->licence = mp__lic(f[2] ? f[2] : "");
    e->namespace_ = mp__opt(f[3]);
}
static size_t mp__atou(const char *s) { size_t v = 0; while (s && *s >= '0' && *s <= '9') v = v * 10 + (size_t)(*s++ - '0'); return v; }

/* Two passes: count records, then fill arrays. Returns 0 on success. */
static int mp__parse(char *in, size_t len, mp_graph *g)
{
    size_t nc = 0, nf = 0, nk = 0, nd = 0, nm = 0, ni = 0, ne = 0, nu = 0, ns = 0;
    for (int pass = 0; pass < 2; pass++) {
        char *p = in, *end = in + len;
        size_t c = 0, fi = 0, k = 0, d = 0, m = 0, ii = 0, e = 0, u = 0, s = 0;
        mp_module *cur = 0;
        int first = 1;
        if (pass == 1) {
            g->config = mp_alloc(sizeof(mp_kv) * (nc + 1));
            g->files = mp_alloc(sizeof(mp_file) * (nf + 1));
            g->kernel = mp_alloc(sizeof(mp_export) * (nk + 1));
            g->dumps = mp_alloc(sizeof(mp_export) * (nd + 1));
            g->modules = mp_alloc(sizeof(mp_module) * (nm + 1));
            mp_kv *mi = mp_alloc(sizeof(mp_kv) * (ni + 1));
            mp_export *ex = mp_alloc(sizeof(mp_export) * (ne + 1));
            mp_import *im = mp_alloc(sizeof(mp_import) * (nu + 1));
            mp_softdep *sd = mp_alloc(sizeof(mp_softdep) * (ns + 1));
            if (!g->config || !g->files || !g->kernel || !g->dumps || !g->modules || !mi || !ex || !im || !sd)
                return 1;
            /* the modules' arrays are carved out of these in order */
            g->modules[0].modinfo = mi; g->modules[0].exports = ex;
            g->modules[0].imports = im; g->modules[0].softdeps = sd;
            g->n_config = nc; g->n_files = nf; g->n_kernel = nk; g->n_dumps = nd; g->n_modules = nm;
            /* stash the bases in the (unused) slot after the last module */
            g->modules[nm].modinfo = mi; g->modules[nm].exports = ex;
            g->modules[nm].imports = im; g->modules[nm].softdeps = sd;
        }
        while (p < end) {
            char *nl = p;
            while (nl < end && *nl != '\n') nl++;
            if (nl == end) return 2;
            char *f[10];
            char *tag = p;
            /* the tag decides whether to split: split in pass 1 only (in place) */
            if (first) { first = 0; p = nl + 1; continue; }
            int is = 0;
#define MP_TAG(t) (!is && mp_starts_with(tag, t "\t") && (is = 1))
            if (MP_TAG("file")) {
                size_t flen;
                if (pass == 1) {
                    mp__fields(p, nl, f, 10);
                    flen = mp__atou(f[2]);
                } else {
                    char *q = p + 5; while (q < nl && *q != '\t') q++;
                    flen = mp__atou(q + 1);
                }
                char *data = nl + 1;
                if ((size_t)(end - data) < flen + 1) return 3;
                if (pass == 1) {
                    data[flen] = 0; /* the separating newline becomes the terminator */
                    g->files[fi].name = f[1]; g->files[fi].data = data; g->files[fi].len = flen;
                }
                fi++; nl = data + flen;
            } else if (pass == 0) {
                if (MP_TAG("config")) nc++; else if (MP_TAG("kernel")) nk++; else if (MP_TAG("dump")) nd++;
                else if (MP_TAG("module")) nm++; else if (MP_TAG("modinfo")) ni++; else if (MP_TAG("export")) ne++;
                else if (MP_TAG("import")) nu++; else if (MP_TAG("softdep")) ns++;
            } else {
                if (MP_TAG("plugin")) { mp__fields(p, nl, f, 10); g->plugin = f[1]; }
                else if (MP_TAG("config")) { mp__fields(p, nl, f, 10); g->config[c].key = f[1]; g->config[c].value = f[2] ? f[2] : ""; c++; }
                else if (MP_TAG("kernel")) { mp__fields(p, nl, f, 10); mp__export(&g->kernel[k++], f + 1, 0); }
                else if (MP_TAG("dump")) { mp__fields(p, nl, f, 10); mp__export(&g->dumps[d++], f + 1, 1); }
                else if (MP_TAG("module")) {
                    mp__fields(p, nl, f, 10);
                    mp_module *prev = cur;
                    cur = &g->modules[m++];
                    cur->index = mp__atou(f[1]); cur->name = f[2]; cur->path = f[3] ? f[3] : "";
                    cur->license = mp__opt(f[4]); cur->readable = mp_streq(f[5], "ok");
                    if (prev) {
                        cur->modinfo = prev->modinfo + prev->n_modinfo; cur->exports = prev->exports + prev->n_exports;
                        cur->imports = prev->imports + prev->n_imports; cur->softdeps = prev->softdeps + prev->n_softdeps;
                    }
                    cur->n_modinfo = cur->n_exports = cur->n_imports = cur->n_softdeps = 0;
                }
                else if (MP_TAG("modinfo")) { if (!cur) return 4; mp__fields(p, nl, f, 10); mp_kv *kv = &cur->modinfo[cur->n_modinfo++]; kv->key = f[1]; kv->value = f[2] ? f[2] : ""; ii++; }
                else if (MP_TAG("export")) { if (!cur) return 4; mp__fields(p, nl, f, 10); mp__export(&cur->exports[cur->n_exports++], f + 1, 0); e++; }
                else if (MP_TAG("import")) {
                    if (!cur) return 4;
                    mp__fields(p, nl, f, 10);
                    mp_import *x = &cur->imports[cur->n_imports++];
                    x->name = f[1]; x->crc = mp__crc(f[2] ? f[2] : "", &x->has_crc); x->weak = mp_streq(f[3], "1");
                    x->provider_kind = mp_streq(f[4], "module") ? MP_PROVIDER_MODULE : mp_streq(f[4], "vmlinux") ? MP_PROVIDER_VMLINUX : mp_streq(f[4], "dump") ? MP_PROVIDER_DUMP : MP_PROVIDER_NONE;
                    x->provider = mp__opt(f[5]);
                    x->export_.name = x->provider_kind == MP_PROVIDER_NONE ? 0 : f[1];
                    x->export_.crc = mp__crc(f[6] ? f[6] : "", &x->export_.has_crc);
                    x->export_.licence = mp__lic(f[7] ? f[7] : "");
                    x->export_.namespace_ = mp__opt(f[8]); x->export_.module = 0;
                    u++;
                }
                else if (MP_TAG("softdep")) { if (!cur) return 4; mp__fields(p, nl, f, 10); mp_softdep *sd = &cur->softdeps[cur->n_softdeps++]; sd->kind = f[1]; sd->module = f[2] ? f[2] : ""; s++; }
                else if (mp_starts_with(tag, "end\n") || (nl - tag == 3 && mp_starts_with(tag, "end"))) break;
                /* unknown records: ignored (later 1.x hosts may add some) */
            }
#undef MP_TAG
            p = nl + 1;
        }
        (void)ii; (void)e; (void)u; (void)s;
    }
    return 0;
}

const char *mp_run(const char *input, size_t len, size_t *out_len)
{
    static mp_out out;
    mp_graph g;
    char *copy = mp_alloc(len + 1);
    out.buf = 0; out.len = out.cap = 0; out.bad = 0;
    for (size_t i = 0; copy && i < len; i++) copy[i] = input[i];
    for (size_t i = 0; i < sizeof g; i++) ((char *)&g)[i] = 0;
    int rc = copy ? mp__parse(copy, len, &g) : 1;
    if (rc) mp_finding(&out, "bad-input", MP_DENY, 0, 0, "the plugin could not read its input");
    else mp_check(&g, &out);
    *out_len = out.bad ? 0 : out.len;
    return out.buf ? out.buf : "";
}

#if defined(__wasm__)
MP_EXPORT("modpolicy_abi_version") int modpolicy_abi_version(void) { return MP_ABI_VERSION; }
MP_EXPORT("modpolicy_alloc") void *modpolicy_alloc(int n) { return mp_alloc((size_t)n); }
MP_EXPORT("modpolicy_check") long long modpolicy_check(char *p, int n)
{
    /* parse in place: the host's buffer is ours */
    static mp_out out;
    mp_graph g;
    for (size_t i = 0; i < sizeof g; i++) ((char *)&g)[i] = 0;
    int rc = mp__parse(p, (size_t)n, &g);
    if (rc) mp_finding(&out, "bad-input", MP_DENY, 0, 0, "the plugin could not read its input");
    else mp_check(&g, &out);
    if (out.bad) __builtin_trap();
    return (long long)(((unsigned long long)(uintptr_t)out.buf << 32) | (unsigned long long)out.len);
}
#endif

#endif /* MODPOLICY_PLUGIN_IMPLEMENTATION */
#endif /* MODPOLICY_PLUGIN_H */
