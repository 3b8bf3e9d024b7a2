/*
 * The fuzz targets' entry point: libFuzzer's LLVMFuzzerTestOneInput.  Built
 * with clang -fsanitize=fuzzer (cmake -DCX_FUZZ=ON, .ci/fuzz) it is driven
 * by libFuzzer; otherwise this main() runs it over the files and
 * directories named on the command line, so ctest replays the seed corpus
 * and every input that once crashed (tests/fuzz/regress/) in any build,
 * including the ASan/UBSan one.  A run that returns is a pass: a crash,
 * a sanitizer report or a hang (ctest's timeout) is a failure.
 */
#ifndef CX_FUZZ_MAIN_H
#define CX_FUZZ_MAIN_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef CX_FUZZ_LIBFUZZER
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int cx_fuzz_one_file(const char *path)
{
    FILE    *f = fopen(path, "rb");
    uint8_t *buf;
    long     n;
    if (f == NULL) return -1;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return -1;
    }
    buf = malloc((size_t)n + 1);
    if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, (size_t)n);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int i, n = 0;
    for (i = 1; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) != 0) {
            fprintf(stderr, "%s: not found\n", argv[i]);
            return 2;
        }
        if (S_ISDIR(sb.st_mode)) {
            DIR           *d = opendir(argv[i]);
            struct dirent *e;
            while (d != NULL && (e = readdir(d)) != NULL) {
                char p[4096];
                if (e->d_name[0] == '.') continue;
                snprintf(p, sizeof(p), "%s/%s", argv[i], e->d_name);
                if (stat(p, &sb) == 0 && S_ISREG(sb.st_mode) && cx_fuzz_one_file(p) == 0) n++;
            }
            if (d != NULL) closedir(d);
        } else if (cx_fuzz_one_file(argv[i]) == 0) {
            n++;
        }
    }
    printf("%d inputs ran\n", n);
    return n > 0 ? 0 : 1;
}
#endif

#endif
