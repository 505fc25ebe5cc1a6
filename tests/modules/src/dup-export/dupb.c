// SPDX-License-Identifier: GPL-2.0
/* dupb: exports dup_shared_fn (also exported by dupa) and dupb_only_fn. */
#include <linux/init.h>
#include <linux/module.h>

int dup_shared_fn(int x);
int dupb_only_fn(int x);

int dup_shared_fn(int x)
{
	return x + 2;
}
EXPORT_SYMBOL(dup_shared_fn);

int dupb_only_fn(int x)
{
	return x + 20;
}
EXPORT_SYMBOL(dupb_only_fn);

static int __init dupb_init(void)
{
	return 0;
}

static void __exit dupb_exit(void)
{
}

module_init(dupb_init);
module_exit(dupb_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: second exporter of dup_shared_fn");
