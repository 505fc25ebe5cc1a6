// SPDX-License-Identifier: GPL-2.0
/* ovruser: uses ovr_base_fn (exported by both ovr copies). */
#include <linux/init.h>
#include <linux/module.h>

int ovr_base_fn(int x);

static int __init ovruser_init(void)
{
	return ovr_base_fn(0) < 0 ? -EINVAL : 0;
}

static void __exit ovruser_exit(void)
{
}

module_init(ovruser_init);
module_exit(ovruser_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: user of ovr_base_fn");
