// SPDX-License-Identifier: GPL-2.0
/* cyc3a: exports cyc3a_fn and uses cyc3b_fn. */
#include <linux/init.h>
#include <linux/module.h>

int cyc3a_fn(int x);
int cyc3b_fn(int x);

int cyc3a_fn(int x)
{
	return x > 0 ? cyc3b_fn(x - 1) : 0;
}
EXPORT_SYMBOL(cyc3a_fn);

static int __init cyc3a_init(void)
{
	return 0;
}

static void __exit cyc3a_exit(void)
{
}

module_init(cyc3a_init);
module_exit(cyc3a_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: cycle member cyc3a (uses cyc3b)");
