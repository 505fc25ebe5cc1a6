// SPDX-License-Identifier: GPL-2.0
/*
 * prio: one module name, several copies (kernel/, extra/, updates/, vendor/,
 * and an external directory). Every copy exports prio_common_fn and
 * prio_<variant>_fn, and carries the alias "prio-variant-<variant>", so
 * modules.dep, modules.symbols and modules.alias show which copy depmod chose.
 */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/stringify.h>

#ifndef PRIO_VARIANT
#error "build with PRIO_VARIANT=<variant>"
#endif

#define PRIO_FN(v)	__PRIO_FN(v)
#define __PRIO_FN(v)	prio_##v##_fn

int prio_common_fn(int x);
int PRIO_FN(PRIO_VARIANT)(int x);

int prio_common_fn(int x)
{
	return x + 1;
}
EXPORT_SYMBOL(prio_common_fn);

int PRIO_FN(PRIO_VARIANT)(int x)
{
	return x + 2;
}
EXPORT_SYMBOL(PRIO_FN(PRIO_VARIANT));

static int __init prio_init(void)
{
	return 0;
}

static void __exit prio_exit(void)
{
}

module_init(prio_init);
module_exit(prio_exit);
MODULE_LICENSE("GPL");
MODULE_ALIAS("prio-variant-" __stringify(PRIO_VARIANT));
MODULE_DESCRIPTION("modpolicy test: prio, " __stringify(PRIO_VARIANT) " copy");
