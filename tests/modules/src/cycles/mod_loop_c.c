// SPDX-License-Identifier: GPL-2.0
/* mod_loop_c: exports mod_loop_c_fn; depends on mod_loop_a. */
#include <linux/init.h>
#include <linux/module.h>

int mod_loop_c_fn(int x);
int mod_loop_a_fn(int x);

int mod_loop_c_fn(int x)
{
	return x > 0 ? mod_loop_a_fn(x - 1) : 0;
}
EXPORT_SYMBOL(mod_loop_c_fn);

static int __init mod_loop_c_init(void)
{
	return 0;
}

static void __exit mod_loop_c_exit(void)
{
}

module_init(mod_loop_c_init);
module_exit(mod_loop_c_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: mod_loop_c (depends on mod_loop_a)");
