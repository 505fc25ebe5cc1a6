// SPDX-License-Identifier: GPL-2.0
/* nsunneeded: imports TEST_NS and UNUSED_NS but only uses the un-namespaced nsprov_plain_fn. */
#include <linux/init.h>
#include <linux/module.h>

int nsprov_plain_fn(int x);

static int __init nsunneeded_init(void)
{
	return nsprov_plain_fn(0) < 0 ? -EINVAL : 0;
}

static void __exit nsunneeded_exit(void)
{
}

module_init(nsunneeded_init);
module_exit(nsunneeded_exit);
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(TEST_NS);
MODULE_IMPORT_NS(UNUSED_NS);
MODULE_DESCRIPTION("modpolicy test: unnecessary namespace imports");
