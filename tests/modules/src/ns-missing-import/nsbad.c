// SPDX-License-Identifier: GPL-2.0
/* nsbad: uses ns_fn from TEST_NS (namespaces/nsprov) without MODULE_IMPORT_NS. */
#include <linux/init.h>
#include <linux/module.h>

int ns_fn(int x);

static int __init nsbad_init(void)
{
	return ns_fn(0) < 0 ? -EINVAL : 0;
}

static void __exit nsbad_exit(void)
{
}

module_init(nsbad_init);
module_exit(nsbad_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: namespaced symbol used without import");
