// SPDX-License-Identifier: GPL-2.0
/* dupa: exports dup_shared_fn (also exported by dupb) and dupa_only_fn. */
#include <linux/init.h>
#include <linux/module.h>

int dup_shared_fn(int x);
int dupa_only_fn(int x);

int dup_shared_fn(int x)
{
	return x + 1;
}
EXPORT_SYMBOL(dup_shared_fn);

int dupa_only_fn(int x)
{
	return x + 10;
}
EXPORT_SYMBOL(dupa_only_fn);

static int __init dupa_init(void)
{
	return 0;
}

static void __exit dupa_exit(void)
{
}

module_init(dupa_init);
module_exit(dupa_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: first exporter of dup_shared_fn");
