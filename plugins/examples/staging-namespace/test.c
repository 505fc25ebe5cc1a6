/* Native unit test of the check: `cc -I ../../sdk-c test.c && ./a.out` (plugins/build.sh
 * runs it). */
#include "staging_namespace.c"
#include <stdio.h>
#include <string.h>

static const char input[] =
    "modpolicy-plugin-input\t1\nplugin\tstaging\n"
    "module\t0\tfoo\tkernel/drivers/staging/foo/foo.ko\tGPL\tok\n"
    "export\tfoo_plain\t-\tany\t-\nexport\tfoo_ns\t-\tgpl\tSTAGING\n"
    "module\t1\tbar\tkernel/drivers/net/bar.ko\tGPL\tok\nexport\tbar_fn\t-\tany\t-\nend\n";

int main(void)
{
    size_t n;
    const char *out = mp_run(input, sizeof input - 1, &n);
    const char *want = "finding\tmissing-namespace\tdeny\tfoo\tfoo_plain\tstaging module foo exports foo_plain without a namespace\n";
    if (n != strlen(want) || memcmp(out, want, n) != 0) {
        fprintf(stderr, "unexpected output:\n%.*s", (int)n, out);
        return 1;
    }
    puts("staging-namespace: native test passed");
    return 0;
}
