// SPDX-License-Identifier: GPL-2.0
/* propuser: a "Proprietary" module that uses the GPL-only gpl_only_fn. */
#include <linux/init.h>
#include <linux/module.h>

int gpl_only_fn(int x);

static int __init propuser_init(void)
{
	return gpl_only_fn(0) < 0 ? -EINVAL : 0;
}

static void __exit propuser_exit(void)
{
}

module_init(propuser_init);
module_exit(propuser_exit);
MODULE_LICENSE("Proprietary");
MODULE_DESCRIPTION("modpolicy test: non-GPL user of a GPL-only symbol");
