// SPDX-License-Identifier: GPL-2.0
/* brokenmod: listed in modules.order, hidden by `exclude brokenmod.ko` in depmod-conf-exclude. */
#include <linux/init.h>
#include <linux/module.h>

int prio_common_fn(int x);

static int __init brokenmod_init(void)
{
	return prio_common_fn(1) < 0 ? -EINVAL : 0;
}

static void __exit brokenmod_exit(void)
{
}

module_init(brokenmod_init);
module_exit(brokenmod_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: module that depmod.d excludes");
