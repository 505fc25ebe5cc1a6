// SPDX-License-Identifier: GPL-2.0
/* strbad: uses str_fn without importing STR_NS. */
#include <linux/init.h>
#include <linux/module.h>

int str_fn(int x);

static int __init strbad_init(void)
{
	return str_fn(0) < 0 ? -EINVAL : 0;
}

static void __exit strbad_exit(void)
{
}

module_init(strbad_init);
module_exit(strbad_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: string-literal namespace user");

