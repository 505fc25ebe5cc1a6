// SPDX-License-Identifier: GPL-2.0
/* nsuser: named in f_for_user's module namespace; imports nothing. */
#include <linux/init.h>
#include <linux/module.h>

int f_for_user(int x);

static int __init nsuser_init(void)
{
	return f_for_user(0) < 0 ? -EINVAL : 0;
}

static void __exit nsuser_exit(void)
{
}

module_init(nsuser_init);
module_exit(nsuser_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: module namespace user");

