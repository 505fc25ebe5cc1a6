// SPDX-License-Identifier: GPL-2.0
/* dupuser: imports dup_shared_fn, which both dupa and dupb export. */
#include <linux/init.h>
#include <linux/module.h>

int dup_shared_fn(int x);

static int __init dupuser_init(void)
{
	return dup_shared_fn(0) < 0 ? -EINVAL : 0;
}

static void __exit dupuser_exit(void)
{
}

module_init(dupuser_init);
module_exit(dupuser_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: user of the doubly exported dup_shared_fn");
