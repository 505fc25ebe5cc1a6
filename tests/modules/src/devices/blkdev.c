// SPDX-License-Identifier: GPL-2.0
/* blkdev: block-major-251-3 before devname:testblk (a modules.devname entry). */
#include <linux/init.h>
#include <linux/module.h>

static int __init blkdev_init(void)
{
	return 0;
}

static void __exit blkdev_exit(void)
{
}

module_init(blkdev_init);
module_exit(blkdev_exit);
MODULE_LICENSE("GPL");
MODULE_ALIAS("block-major-251-3");
MODULE_ALIAS("devname:testblk");
MODULE_DESCRIPTION("modpolicy test: block device node");
