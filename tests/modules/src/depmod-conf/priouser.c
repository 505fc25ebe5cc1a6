// SPDX-License-Identifier: GPL-2.0
/* priouser: uses prio_common_fn, which every copy of prio exports. */
#include <linux/init.h>
#include <linux/module.h>

int prio_common_fn(int x);

static int __init priouser_init(void)
{
	return prio_common_fn(0) < 0 ? -EINVAL : 0;
}

static void __exit priouser_exit(void)
{
}

module_init(priouser_init);
module_exit(priouser_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: user of prio_common_fn");
