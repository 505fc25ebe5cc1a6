// SPDX-License-Identifier: GPL-2.0
/* nsother: not named; imports the module namespace explicitly (an error from 6.16 on). */
#include <linux/init.h>
#include <linux/module.h>

int f_for_user(int x);

static int __init nsother_init(void)
{
	return f_for_user(0) < 0 ? -EINVAL : 0;
}

static void __exit nsother_exit(void)
{
}

module_init(nsother_init);
module_exit(nsother_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: module namespace user");
MODULE_IMPORT_NS(module:nsuser);
