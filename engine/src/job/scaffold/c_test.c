/* Native test of the check (no wasm): run by test.sh. */
#include "@FILE@.c"
#include <stdio.h>
#include <string.h>

static const char input[] =
    "modpolicy-plugin-input\t1\nplugin\t@NAME@\n"
    "module\t0\tgood\tkernel/good.ko\tGPL\tok\nmodinfo\tdescription\tA good module\n"
    "module\t1\tbad\tkernel/bad.ko\tGPL\tok\nmodinfo\tlicense\tGPL\nend\n";

int main(void)
{
    size_t n;
    const char *out = mp_run(input, sizeof input - 1, &n);
    const char *want = "finding\tno-description\twarn\tbad\t-\tmodule bad has no MODULE_DESCRIPTION()\n";
    if (n != strlen(want) || memcmp(out, want, n) != 0) {
        fprintf(stderr, "unexpected output:\n%.*s", (int)n, out);
        return 1;
    }
    puts("@NAME@: test passed");
    return 0;
}
