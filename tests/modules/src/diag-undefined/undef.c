// SPDX-License-Identifier: GPL-2.0
/* undef: calls modpolicy_nobody_exports_this(), which nothing exports. */
#include <linux/init.h>
#include <linux/module.h>

extern int modpolicy_nobody_exports_this(int x);

static int __init undef_init(void)
{
	return modpolicy_nobody_exports_this(0) < 0 ? -EINVAL : 0;
}

static void __exit undef_exit(void)
{
}

module_init(undef_init);
module_exit(undef_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: undefined symbol");
