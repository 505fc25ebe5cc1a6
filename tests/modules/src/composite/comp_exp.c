// SPDX-License-Identifier: GPL-2.0
/* comp_exp: the second object of comp.ko, exporting comp_fn and comp_gpl_fn. */
#include <linux/export.h>

int comp_fn(int x);
int comp_gpl_fn(int x);

int comp_fn(int x)
{
	return x + 1;
}
EXPORT_SYMBOL(comp_fn);

int comp_gpl_fn(int x)
{
	return x + 2;
}
EXPORT_SYMBOL_GPL(comp_gpl_fn);
