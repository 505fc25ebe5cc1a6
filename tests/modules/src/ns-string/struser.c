// SPDX-License-Identifier: GPL-2.0
/* struser: imports STR_NS as 6.13 MODULE_IMPORT_NS("STR_NS") expands. */
#include <linux/init.h>
#include <linux/module.h>

int str_fn(int x);

static int __init struser_init(void)
{
	return str_fn(0) < 0 ? -EINVAL : 0;
}

static void __exit struser_exit(void)
{
}

module_init(struser_init);
module_exit(struser_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: string-literal namespace user");
MODULE_INFO(import_ns, "STR_NS");
