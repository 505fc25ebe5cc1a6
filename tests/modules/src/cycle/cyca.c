// SPDX-License-Identifier: GPL-2.0
/* cyca: exports cyca_fn and uses cycb_fn. */
#include <linux/init.h>
#include <linux/module.h>

int cyca_fn(int x);
int cycb_fn(int x);

int cyca_fn(int x)
{
	return x > 0 ? cycb_fn(x - 1) : 0;
}
EXPORT_SYMBOL(cyca_fn);

static int __init cyca_init(void)
{
	return 0;
}

static void __exit cyca_exit(void)
{
}

module_init(cyca_init);
module_exit(cyca_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: cycle member cyca (uses cycb)");
