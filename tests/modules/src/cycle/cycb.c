// SPDX-License-Identifier: GPL-2.0
/* cycb: exports cycb_fn and uses cyca_fn. */
#include <linux/init.h>
#include <linux/module.h>

int cycb_fn(int x);
int cyca_fn(int x);

int cycb_fn(int x)
{
	return x > 0 ? cyca_fn(x - 1) : 0;
}
EXPORT_SYMBOL(cycb_fn);

static int __init cycb_init(void)
{
	return 0;
}

static void __exit cycb_exit(void)
{
}

module_init(cycb_init);
module_exit(cycb_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: cycle member cycb (uses cyca)");
