// SPDX-License-Identifier: GPL-2.0
/* mod_ring_3: exports mod_ring_3_fn; depends on mod_ring_4, mod_ring_6. */
#include <linux/init.h>
#include <linux/module.h>

int mod_ring_3_fn(int x);
int mod_ring_4_fn(int x);
int mod_ring_6_fn(int x);

int mod_ring_3_fn(int x)
{
	return x > 0 ? mod_ring_4_fn(x - 1) + mod_ring_6_fn(x - 1) : 0;
}
EXPORT_SYMBOL(mod_ring_3_fn);

static int __init mod_ring_3_init(void)
{
	return 0;
}

static void __exit mod_ring_3_exit(void)
{
}

module_init(mod_ring_3_init);
module_exit(mod_ring_3_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: mod_ring_3 (depends on mod_ring_4, mod_ring_6)");
