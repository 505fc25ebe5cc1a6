// SPDX-License-Identifier: GPL-2.0
/* compuser: uses comp_fn and comp_gpl_fn from comp.ko. */
#include <linux/init.h>
#include <linux/module.h>

int comp_fn(int x);
int comp_gpl_fn(int x);

static int __init compuser_init(void)
{
	return comp_fn(0) + comp_gpl_fn(0) < 0 ? -EINVAL : 0;
}

static void __exit compuser_exit(void)
{
}

module_init(compuser_init);
module_exit(compuser_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: user of a module of two objects");
