/* glibc compatibility for PICKET_PORTABLE binaries (cmake/Portable.cmake).
 *
 * Debian 12's static libstdc++ (GCC 12, built against glibc 2.36) implements
 * std::random_device with arc4random(), which glibc has only since 2.36. Linked statically
 * into picketd, that reference would make the binary need GLIBC_2.36 and refuse to start on
 * RHEL 9 (glibc 2.34). This definition, linked into the shipped executables only, satisfies
 * it with getrandom(2) (glibc 2.25): the same kernel CSPRNG glibc's arc4random reads. Like
 * glibc's, it never fails: it retries on EINTR and aborts if the kernel has no getrandom
 * (Linux < 3.17, not a RHEL 9 or Debian 12 kernel).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/types.h>

uint32_t arc4random(void);

uint32_t arc4random(void) {
    uint32_t value = 0;
    unsigned char* out = (unsigned char*)&value;
    size_t have = 0;
    while (have < sizeof value) {
        ssize_t n = getrandom(out + have, sizeof value - have, 0);
        if (n > 0) {
            have += (size_t)n;
        } else if (n < 0 && errno != EINTR) {
            abort();
        }
    }
    return value;
}
