// SPDX-License-Identifier: GPL-2.0
/* devnode: devname:testdev plus char-major-250-7 (a modules.devname entry). */
#include <linux/init.h>
#include <linux/module.h>

static int __init devnode_init(void)
{
	return 0;
}

static void __exit devnode_exit(void)
{
}

module_init(devnode_init);
module_exit(devnode_exit);
MODULE_LICENSE("GPL");
MODULE_ALIAS("devname:testdev");
MODULE_ALIAS("char-major-250-7");
MODULE_DESCRIPTION("modpolicy test: char device node");
