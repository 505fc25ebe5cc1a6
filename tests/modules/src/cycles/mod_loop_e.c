// SPDX-License-Identifier: GPL-2.0
/* mod_loop_e: exports mod_loop_e_fn; depends on mod_loop_d. */
#include <linux/init.h>
#include <linux/module.h>

int mod_loop_e_fn(int x);
int mod_loop_d_fn(int x);

int mod_loop_e_fn(int x)
{
	return x > 0 ? mod_loop_d_fn(x - 1) : 0;
}
EXPORT_SYMBOL(mod_loop_e_fn);

static int __init mod_loop_e_init(void)
{
	return 0;
}

static void __exit mod_loop_e_exit(void)
{
}

module_init(mod_loop_e_init);
module_exit(mod_loop_e_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: mod_loop_e (depends on mod_loop_d)");
