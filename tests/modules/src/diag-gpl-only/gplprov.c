// SPDX-License-Identifier: GPL-2.0
/* gplprov: exports gpl_only_fn with EXPORT_SYMBOL_GPL. */
#include <linux/init.h>
#include <linux/module.h>

int gpl_only_fn(int x);

int gpl_only_fn(int x)
{
	return x + 1;
}
EXPORT_SYMBOL_GPL(gpl_only_fn);

static int __init gplprov_init(void)
{
	return 0;
}

static void __exit gplprov_exit(void)
{
}

module_init(gplprov_init);
module_exit(gplprov_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: GPL-only export");
