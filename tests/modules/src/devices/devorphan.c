// SPDX-License-Identifier: GPL-2.0
/* devorphan: devname:orphan with no major/minor alias (depmod reports it). */
#include <linux/init.h>
#include <linux/module.h>

static int __init devorphan_init(void)
{
	return 0;
}

static void __exit devorphan_exit(void)
{
}

module_init(devorphan_init);
module_exit(devorphan_exit);
MODULE_LICENSE("GPL");
MODULE_ALIAS("devname:orphan");
MODULE_DESCRIPTION("modpolicy test: devname without major and minor");
