// SPDX-License-Identifier: GPL-2.0
/* mod_ring_1: exports mod_ring_1_fn; depends on mod_ring_2, mod_ring_4. */
#include <linux/init.h>
#include <linux/module.h>

int mod_ring_1_fn(int x);
int mod_ring_2_fn(int x);
int mod_ring_4_fn(int x);

int mod_ring_1_fn(int x)
{
	return x > 0 ? mod_ring_2_fn(x - 1) + mod_ring_4_fn(x - 1) : 0;
}
EXPORT_SYMBOL(mod_ring_1_fn);

static int __init mod_ring_1_init(void)
{
	return 0;
}

static void __exit mod_ring_1_exit(void)
{
}

module_init(mod_ring_1_init);
module_exit(mod_ring_1_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: mod_ring_1 (depends on mod_ring_2, mod_ring_4)");
