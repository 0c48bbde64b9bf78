/*
 * The three symbols that @jazzer.js/fuzzer 4.0.0's prebuilt fuzzer-linux-x64.node needs from a
 * glibc (2.38) and libstdc++ (GCC 13) newer than Debian 12 ships. scripts/fuzz-setup.mjs compiles
 * this next to the .node file and makes the .node file load it (see that script).
 */
#include <stdlib.h>

/* C23 strtol/strtoul: the same as the C99 ones except that they also accept a 0b prefix. */
long __isoc23_strtol(const char *nptr, char **endptr, int base) { return strtol(nptr, endptr, base); }

unsigned long __isoc23_strtoul(const char *nptr, char **endptr, int base) {
  return strtoul(nptr, endptr, base);
}

/* GCC 13 headers reference this to make libstdc++ construct std::cout and friends; the older
 * libstdc++ constructs them already (Node itself uses iostreams), so nothing is left to do. */
void _ZSt21ios_base_library_initv(void) {}
