/* @NAME@: a modpolicy plugin (C, plugin ABI version 1).
 *
 * The check: every module must have a MODULE_DESCRIPTION() (modinfo `description`).
 * Replace it with yours; plugins/README.md in modpolicy describes the graph.
 */
#define MODPOLICY_PLUGIN_IMPLEMENTATION
#include "modpolicy_plugin.h"

void mp_check(const mp_graph *g, mp_out *out)
{
    for (size_t i = 0; i < g->n_modules; i++) {
        const mp_module *m = &g->modules[i];
        int found = 0;
        for (size_t j = 0; j < m->n_modinfo; j++)
            if (mp_streq(m->modinfo[j].key, "description"))
                found = 1;
        if (!found && m->readable) {
            mp_begin(out, "no-description", MP_WARN, m->name, 0);
            mp_append(out, "module ");
            mp_append(out, m->name);
            mp_append(out, " has no MODULE_DESCRIPTION()");
            mp_end(out);
        }
    }
}
