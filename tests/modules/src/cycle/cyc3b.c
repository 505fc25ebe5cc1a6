// SPDX-License-Identifier: GPL-2.0
/* cyc3b: exports cyc3b_fn and uses cyc3c_fn. */
#include <linux/init.h>
#include <linux/module.h>

int cyc3b_fn(int x);
int cyc3c_fn(int x);

int cyc3b_fn(int x)
{
	return x > 0 ? cyc3c_fn(x - 1) : 0;
}
EXPORT_SYMBOL(cyc3b_fn);

static int __init cyc3b_init(void)
{
	return 0;
}

static void __exit cyc3b_exit(void)
{
}

module_init(cyc3b_init);
module_exit(cyc3b_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: cycle member cyc3b (uses cyc3c)");
