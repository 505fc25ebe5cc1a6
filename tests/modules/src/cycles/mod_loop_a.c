// SPDX-License-Identifier: GPL-2.0
/* mod_loop_a: exports mod_loop_a_fn; depends on mod_loop_b, mod_loop_f, mod_loop_g. */
#include <linux/init.h>
#include <linux/module.h>

int mod_loop_a_fn(int x);
int mod_loop_b_fn(int x);
int mod_loop_f_fn(int x);
int mod_loop_g_fn(int x);

int mod_loop_a_fn(int x)
{
	return x > 0 ? mod_loop_b_fn(x - 1) + mod_loop_f_fn(x - 1) + mod_loop_g_fn(x - 1) : 0;
}
EXPORT_SYMBOL(mod_loop_a_fn);

static int __init mod_loop_a_init(void)
{
	return 0;
}

static void __exit mod_loop_a_exit(void)
{
}

module_init(mod_loop_a_init);
module_exit(mod_loop_a_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: mod_loop_a (depends on mod_loop_b, mod_loop_f, mod_loop_g)");
