// SPDX-License-Identifier: GPL-2.0
/*
 * nsmodprov: exports into module namespaces. Debian's 6.12 headers have
 * EXPORT_SYMBOL_GPL_FOR_MODULES (namespace "module:" + the list), whose 6.18 name is
 * EXPORT_SYMBOL_FOR_MODULES; 6.12's modpost treats the namespace as any other one.
 */
#include <linux/init.h>
#include <linux/module.h>

int f_for_user(int x);
int g_for_many(int x);

int f_for_user(int x)
{
	return x + 1;
}
EXPORT_SYMBOL_GPL_FOR_MODULES(f_for_user, "nsuser");

/* `-` and `_` are the same in module names; `*` ends a name prefix. */
int g_for_many(int x)
{
	return x + 2;
}
EXPORT_SYMBOL_GPL_FOR_MODULES(g_for_many, "ns-dash,nswild*");

static int __init nsmodprov_init(void)
{
	return 0;
}

static void __exit nsmodprov_exit(void)
{
}

module_init(nsmodprov_init);
module_exit(nsmodprov_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: exports for named modules");
