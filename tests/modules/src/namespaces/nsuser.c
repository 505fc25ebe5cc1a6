// SPDX-License-Identifier: GPL-2.0
/* nsuser: imports TEST_NS and TEST_NS2 and uses ns_fn and ns_plain_fn. */
#include <linux/init.h>
#include <linux/module.h>

int ns_fn(int x);
int ns_plain_fn(int x);

static int __init nsuser_init(void)
{
	return ns_fn(0) + ns_plain_fn(0) < 0 ? -EINVAL : 0;
}

static void __exit nsuser_exit(void)
{
}

module_init(nsuser_init);
module_exit(nsuser_exit);
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(TEST_NS);
MODULE_IMPORT_NS(TEST_NS2);
MODULE_DESCRIPTION("modpolicy test: user that imports its namespaces");
