// SPDX-License-Identifier: GPL-2.0
/* mod_loop_g: exports mod_loop_g_fn; depends on nothing. */
#include <linux/init.h>
#include <linux/module.h>

int mod_loop_g_fn(int x);

int mod_loop_g_fn(int x)
{
	return x > 0 ? x : 0;
}
EXPORT_SYMBOL(mod_loop_g_fn);

static int __init mod_loop_g_init(void)
{
	return 0;
}

static void __exit mod_loop_g_exit(void)
{
}

module_init(mod_loop_g_init);
module_exit(mod_loop_g_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: mod_loop_g (depends on nothing)");
