// SPDX-License-Identifier: GPL-2.0
/* nolic: has no MODULE_LICENSE. */
#include <linux/init.h>
#include <linux/module.h>

static int __init nolic_init(void)
{
	return 0;
}

static void __exit nolic_exit(void)
{
}

module_init(nolic_init);
module_exit(nolic_exit);
MODULE_DESCRIPTION("modpolicy test: module without MODULE_LICENSE");
