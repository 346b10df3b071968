/* test_hash_fd.c: bt_hash_fd (core/snapshot.c) hashes a file's whole
 * contents whatever size hint its caller passes: the size it saw, none
 * (-1), one too small (the file grew since) or too large (it shrank). The
 * hint only lets a short read at that size stop without one more read. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "sha256.h"
#include "snapshot.h"

/* A temporary file of n pseudo-random bytes; its digest goes to want. */
static int file_of(size_t n, char want[65]) {
    char path[] = "/tmp/baton-hashfd-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    unsigned char *data = malloc(n + 1);
    uint32_t x = 88172645u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        data[i] = (unsigned char)x;
    }
    CHECK(write(fd, data, n) == (ssize_t)n);
    bt_sha256_hex(data, n, want);
    free(data);
    return fd;
}

int main(void) {
    static const size_t sizes[] = {0, 1, 5, 65535, 65536, 65537, 200000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        char want[65], got[65];
        int fd = file_of(n, want);
        long long hints[] = {(long long)n, -1, n > 0 ? (long long)n - 1 : 0, 1, (long long)n + 1,
                             (long long)n + 100000};
        for (size_t h = 0; h < sizeof hints / sizeof hints[0]; h++) {
            CHECK(bt_hash_fd(fd, hints[h], got) == 0);
            CHECK_STR(got, want);
        }
        close(fd);
    }
    CHECK_DONE();
}
