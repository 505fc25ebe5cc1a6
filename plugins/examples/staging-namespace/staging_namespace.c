/* staging-namespace: every symbol a module under drivers/staging/ exports must carry a
 * symbol namespace (EXPORT_SYMBOL_NS*), so that nothing outside staging uses staging
 * code by accident: users must say MODULE_IMPORT_NS().
 *
 * Config: `path` (default "drivers/staging/"): the path fragment that marks a module as
 * staging; `namespace`: if set, the namespace those exports must be in.
 * Findings: `missing-namespace` (deny), `wrong-namespace` (deny).
 */
#define MODPOLICY_PLUGIN_IMPLEMENTATION
#include "modpolicy_plugin.h"

void mp_check(const mp_graph *g, mp_out *out)
{
    const char *frag = mp_config(g, "path");
    const char *want = mp_config(g, "namespace");
    if (!frag)
        frag = "drivers/staging/";
    for (size_t i = 0; i < g->n_modules; i++) {
        const mp_module *m = &g->modules[i];
        if (!mp_strstr(m->path, frag))
            continue;
        for (size_t j = 0; j < m->n_exports; j++) {
            const mp_export *e = &m->exports[j];
            if (!e->namespace_) {
                mp_begin(out, "missing-namespace", MP_DENY, m->name, e->name);
                mp_append(out, "staging module ");
                mp_append(out, m->name);
                mp_append(out, " exports ");
                mp_append(out, e->name);
                mp_append(out, " without a namespace");
                mp_end(out);
            } else if (want && !mp_streq(e->namespace_, want)) {
                mp_begin(out, "wrong-namespace", MP_DENY, m->name, e->name);
                mp_append(out, "staging module ");
                mp_append(out, m->name);
                mp_append(out, " exports ");
                mp_append(out, e->name);
                mp_append(out, " in namespace ");
                mp_append(out, e->namespace_);
                mp_append(out, ", not ");
                mp_append(out, want);
                mp_end(out);
            }
        }
    }
}
