// SPDX-License-Identifier: GPL-2.0
/* mod_loop_j: exports mod_loop_j_fn; depends on mod_loop_h, mod_loop_k. */
#include <linux/init.h>
#include <linux/module.h>

int mod_loop_j_fn(int x);
int mod_loop_h_fn(int x);
int mod_loop_k_fn(int x);

int mod_loop_j_fn(int x)
{
	return x > 0 ? mod_loop_h_fn(x - 1) + mod_loop_k_fn(x - 1) : 0;
}
EXPORT_SYMBOL(mod_loop_j_fn);

static int __init mod_loop_j_init(void)
{
	return 0;
}

static void __exit mod_loop_j_exit(void)
{
}

module_init(mod_loop_j_init);
module_exit(mod_loop_j_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: mod_loop_j (depends on mod_loop_h, mod_loop_k)");
