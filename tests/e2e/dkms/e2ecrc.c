// SPDX-License-Identifier: GPL-2.0
/*
 * e2ecrc: a vendor replacement for crc_itu_t, exporting the symbol the in-tree
 * kernel/lib/crc-itu-t.ko exports (a duplicate export for the provider rules).
 */
#include <linux/crc-itu-t.h>
#include <linux/init.h>
#include <linux/module.h>

u16 crc_itu_t(u16 crc, const u8 *buffer, size_t len)
{
	int bit;

	/* Bit by bit (polynomial 0x1021, MSB first): no use of crc_itu_t_table. */
	while (len--) {
		crc ^= (u16)*buffer++ << 8;
		for (bit = 0; bit < 8; bit++)
			crc = (crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1;
	}
	return crc;
}
EXPORT_SYMBOL(crc_itu_t);

static int __init e2ecrc_init(void)
{
	return 0;
}

static void __exit e2ecrc_exit(void)
{
}

module_init(e2ecrc_init);
module_exit(e2ecrc_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modpolicy end-to-end test: a second exporter of crc_itu_t");
