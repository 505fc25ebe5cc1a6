// SPDX-License-Identifier: GPL-2.0
/* nswildcard: matches nswild* in g_for_many's module namespace; imports nothing. */
#include <linux/init.h>
#include <linux/module.h>

int g_for_many(int x);

static int __init nswildcard_init(void)
{
	return g_for_many(0) < 0 ? -EINVAL : 0;
}

static void __exit nswildcard_exit(void)
{
}

module_init(nswildcard_init);
module_exit(nswildcard_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: module namespace user");

