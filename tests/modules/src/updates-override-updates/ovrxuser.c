// SPDX-License-Identifier: GPL-2.0
/* ovrxuser: uses ovr_extra_fn (exported only by the updates/ copy of ovr). */
#include <linux/init.h>
#include <linux/module.h>

int ovr_extra_fn(int x);

static int __init ovrxuser_init(void)
{
	return ovr_extra_fn(0) < 0 ? -EINVAL : 0;
}

static void __exit ovrxuser_exit(void)
{
}

module_init(ovrxuser_init);
module_exit(ovrxuser_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: user of ovr_extra_fn");
