// SPDX-License-Identifier: GPL-2.0
/* nsprov: exports ns_fn (GPL) in TEST_NS, ns_plain_fn in TEST_NS2, nsprov_plain_fn without a namespace. */
#include <linux/init.h>
#include <linux/module.h>

int ns_fn(int x);
int ns_plain_fn(int x);
int nsprov_plain_fn(int x);

int ns_fn(int x)
{
	return x + 1;
}
EXPORT_SYMBOL_NS_GPL(ns_fn, TEST_NS);

int ns_plain_fn(int x)
{
	return x + 2;
}
EXPORT_SYMBOL_NS(ns_plain_fn, TEST_NS2);

int nsprov_plain_fn(int x)
{
	return x + 3;
}
EXPORT_SYMBOL(nsprov_plain_fn);

static int __init nsprov_init(void)
{
	return 0;
}

static void __exit nsprov_exit(void)
{
}

module_init(nsprov_init);
module_exit(nsprov_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: namespaced exports");
