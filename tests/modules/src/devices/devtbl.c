// SPDX-License-Identifier: GPL-2.0
/*
 * devtbl: device tables for pci, usb, of and acpi (modpost turns them into
 * MODULE_ALIAS lines in devtbl.mod.c), plus hand-written aliases with '-',
 * '_' and '[...]' bracket patterns.
 */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/mod_devicetable.h>
#include <linux/pci.h>
#include <linux/usb.h>

static const struct pci_device_id devtbl_pci_ids[] = {
	{ PCI_DEVICE(0x1234, 0x5678) },
	{ PCI_DEVICE_SUB(0x8086, 0x10d3, 0x8086, 0xa01f) },
	{ PCI_DEVICE_CLASS(PCI_CLASS_STORAGE_EXPRESS, 0xffffff) },
	{ }
};
MODULE_DEVICE_TABLE(pci, devtbl_pci_ids);

static const struct usb_device_id devtbl_usb_ids[] = {
	{ USB_DEVICE(0x1d6b, 0x0104) },
	{ USB_INTERFACE_INFO(USB_CLASS_HID, 1, 2) },
	{ }
};
MODULE_DEVICE_TABLE(usb, devtbl_usb_ids);

static const struct of_device_id devtbl_of_ids[] = {
	{ .compatible = "modpolicy,test-dev" },
	{ .name = "testnode", .compatible = "modpolicy,test-dev-v2" },
	{ }
};
MODULE_DEVICE_TABLE(of, devtbl_of_ids);

static const struct acpi_device_id devtbl_acpi_ids[] = {
	{ "MPOL0001", 0 },
	{ "MPOL0002", 0 },
	{ }
};
MODULE_DEVICE_TABLE(acpi, devtbl_acpi_ids);

static int __init devtbl_init(void)
{
	return 0;
}

static void __exit devtbl_exit(void)
{
}

module_init(devtbl_init);
module_exit(devtbl_exit);
MODULE_LICENSE("GPL");
MODULE_ALIAS("modpolicy-test_dev-[ab]");
MODULE_ALIAS("platform:mp-test[0-9]*-x");
MODULE_DESCRIPTION("modpolicy test: pci/usb/of/acpi device tables");
