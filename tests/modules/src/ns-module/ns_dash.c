// SPDX-License-Identifier: GPL-2.0
/* ns_dash: named as ns-dash in g_for_many's module namespace; imports nothing. */
#include <linux/init.h>
#include <linux/module.h>

int g_for_many(int x);

static int __init ns_dash_init(void)
{
	return g_for_many(0) < 0 ? -EINVAL : 0;
}

static void __exit ns_dash_exit(void)
{
}

module_init(ns_dash_init);
module_exit(ns_dash_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: module namespace user");

