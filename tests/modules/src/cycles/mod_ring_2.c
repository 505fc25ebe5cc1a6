// SPDX-License-Identifier: GPL-2.0
/* mod_ring_2: exports mod_ring_2_fn; depends on mod_ring_3. */
#include <linux/init.h>
#include <linux/module.h>

int mod_ring_2_fn(int x);
int mod_ring_3_fn(int x);

int mod_ring_2_fn(int x)
{
	return x > 0 ? mod_ring_3_fn(x - 1) : 0;
}
EXPORT_SYMBOL(mod_ring_2_fn);

static int __init mod_ring_2_init(void)
{
	return 0;
}

static void __exit mod_ring_2_exit(void)
{
}

module_init(mod_ring_2_init);
module_exit(mod_ring_2_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: mod_ring_2 (depends on mod_ring_3)");
