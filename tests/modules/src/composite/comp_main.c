// SPDX-License-Identifier: GPL-2.0
/* comp_main: the module code of comp.ko; the exports are in comp_exp.c. */
#include <linux/init.h>
#include <linux/module.h>

static int __init comp_init(void)
{
	return 0;
}

static void __exit comp_exit(void)
{
}

module_init(comp_init);
module_exit(comp_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: a module of two objects");
