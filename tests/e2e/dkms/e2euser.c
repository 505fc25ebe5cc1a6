// SPDX-License-Identifier: GPL-2.0
/*
 * e2euser: an out-of-tree module using crc_itu_t, which the in-tree
 * kernel/lib/crc-itu-t.ko exports (and e2ecrc.ko exports again).
 */
#include <linux/crc-itu-t.h>
#include <linux/init.h>
#include <linux/module.h>

static int __init e2euser_init(void)
{
	static const u8 data[] = { 'm', 'o', 'd' };

	pr_info("e2euser: %04x\n", crc_itu_t(0, data, sizeof(data)));
	return 0;
}

static void __exit e2euser_exit(void)
{
}

module_init(e2euser_init);
module_exit(e2euser_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy end-to-end test: a user of crc_itu_t");
