// SPDX-License-Identifier: GPL-2.0
/* a/x: a module named x, like ../b/x.c; both export same_name_fn. */
#include <linux/init.h>
#include <linux/module.h>

int same_name_fn(int v);

int same_name_fn(int v)
{
	return v + 1;
}
EXPORT_SYMBOL(same_name_fn);

static int __init x_init(void)
{
	return 0;
}

static void __exit x_exit(void)
{
}

module_init(x_init);
module_exit(x_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: module x in a/, exporting same_name_fn");
