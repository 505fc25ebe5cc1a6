// SPDX-License-Identifier: GPL-2.0
/* nsthird: not named, imports nothing. */
#include <linux/init.h>
#include <linux/module.h>

int f_for_user(int x);

static int __init nsthird_init(void)
{
	return f_for_user(0) < 0 ? -EINVAL : 0;
}

static void __exit nsthird_exit(void)
{
}

module_init(nsthird_init);
module_exit(nsthird_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: module namespace user");

