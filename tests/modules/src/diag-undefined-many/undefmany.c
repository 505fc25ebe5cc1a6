// SPDX-License-Identifier: GPL-2.0
/* undefmany: calls twelve functions that nothing exports (modpost prints only ten). */
#include <linux/init.h>
#include <linux/module.h>

extern int modpolicy_missing_01(void);
extern int modpolicy_missing_02(void);
extern int modpolicy_missing_03(void);
extern int modpolicy_missing_04(void);
extern int modpolicy_missing_05(void);
extern int modpolicy_missing_06(void);
extern int modpolicy_missing_07(void);
extern int modpolicy_missing_08(void);
extern int modpolicy_missing_09(void);
extern int modpolicy_missing_10(void);
extern int modpolicy_missing_11(void);
extern int modpolicy_missing_12(void);

static int __init undefmany_init(void)
{
	return modpolicy_missing_01() +
	       modpolicy_missing_02() +
	       modpolicy_missing_03() +
	       modpolicy_missing_04() +
	       modpolicy_missing_05() +
	       modpolicy_missing_06() +
	       modpolicy_missing_07() +
	       modpolicy_missing_08() +
	       modpolicy_missing_09() +
	       modpolicy_missing_10() +
	       modpolicy_missing_11() +
	       modpolicy_missing_12() + 0 < 0 ? -EINVAL : 0;
}

static void __exit undefmany_exit(void)
{
}

module_init(undefmany_init);
module_exit(undefmany_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy test: many undefined symbols");
