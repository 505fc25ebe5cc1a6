// SPDX-License-Identifier: GPL-2.0
/* twice: defines and exports msleep, which vmlinux already exports. */
#include <linux/init.h>
#include <linux/module.h>

#include <linux/delay.h>

void msleep(unsigned int msecs)
{
}
EXPORT_SYMBOL(msleep);

static int __init twice_init(void)
{
	return 0;
}

static void __exit twice_exit(void)
{
}

module_init(twice_init);
module_exit(twice_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: re-export of a vmlinux symbol");
