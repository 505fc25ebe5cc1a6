// SPDX-License-Identifier: GPL-2.0
/* nodesc: has no MODULE_DESCRIPTION (6.1 modpost has no such check, even with W=1). */
#include <linux/init.h>
#include <linux/module.h>

static int __init nodesc_init(void)
{
	return 0;
}

static void __exit nodesc_exit(void)
{
}

module_init(nodesc_init);
module_exit(nodesc_exit);
MODULE_LICENSE("GPL");
