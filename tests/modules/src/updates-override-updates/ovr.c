// SPDX-License-Identifier: GPL-2.0
/* ovr: the updates/ copy; exports ovr_base_fn and ovr_extra_fn. */
#include <linux/init.h>
#include <linux/module.h>

int ovr_base_fn(int x);
int ovr_extra_fn(int x);

int ovr_base_fn(int x)
{
	return x + 2;
}
EXPORT_SYMBOL(ovr_base_fn);

int ovr_extra_fn(int x)
{
	return x + 3;
}
EXPORT_SYMBOL(ovr_extra_fn);

static int __init ovr_init(void)
{
	return 0;
}

static void __exit ovr_exit(void)
{
}

module_init(ovr_init);
module_exit(ovr_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: ovr, updates/ copy with an extra export");
