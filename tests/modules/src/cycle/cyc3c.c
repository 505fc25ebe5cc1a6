// SPDX-License-Identifier: GPL-2.0
/* cyc3c: exports cyc3c_fn and uses cyc3a_fn. */
#include <linux/init.h>
#include <linux/module.h>

int cyc3c_fn(int x);
int cyc3a_fn(int x);

int cyc3c_fn(int x)
{
	return x > 0 ? cyc3a_fn(x - 1) : 0;
}
EXPORT_SYMBOL(cyc3c_fn);

static int __init cyc3c_init(void)
{
	return 0;
}

static void __exit cyc3c_exit(void)
{
}

module_init(cyc3c_init);
module_exit(cyc3c_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: cycle member cyc3c (uses cyc3a)");
