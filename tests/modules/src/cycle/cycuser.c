// SPDX-License-Identifier: GPL-2.0
/* cycuser: uses cyca_fn; depends on the 2-cycle but is not in it. */
#include <linux/init.h>
#include <linux/module.h>

int cyca_fn(int x);

static int __init cycuser_init(void)
{
	return cyca_fn(1) < 0 ? -EINVAL : 0;
}

static void __exit cycuser_exit(void)
{
}

module_init(cycuser_init);
module_exit(cycuser_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: user of a module in a dependency cycle");
