// SPDX-License-Identifier: GPL-2.0
/* softdep: MODULE_SOFTDEP and a weakdep modinfo entry (6.1 has no MODULE_WEAKDEP). */
#include <linux/init.h>
#include <linux/module.h>

static int __init softdep_init(void)
{
	return 0;
}

static void __exit softdep_exit(void)
{
}

module_init(softdep_init);
module_exit(softdep_exit);
MODULE_LICENSE("GPL");
MODULE_SOFTDEP("pre: foo post: bar");
MODULE_INFO(weakdep, "somemod");
MODULE_DESCRIPTION("modpolicy test: soft and weak dependencies");
