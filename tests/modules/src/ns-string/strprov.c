// SPDX-License-Identifier: GPL-2.0
/*
 * strprov: exports str_fn in namespace STR_NS as Linux 6.13's
 * EXPORT_SYMBOL_NS_GPL(str_fn, "STR_NS") expands (the namespace a string literal;
 * 6.12's macro of that name takes a bare word), written with the macro both share.
 */
#include <linux/init.h>
#include <linux/module.h>

int str_fn(int x);

int str_fn(int x)
{
	return x + 1;
}
__EXPORT_SYMBOL(str_fn, "GPL", "STR_NS");

static int __init strprov_init(void)
{
	return 0;
}

static void __exit strprov_exit(void)
{
}

module_init(strprov_init);
module_exit(strprov_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: string-literal namespace");
