/* (e) The program: a few KB of sources in a context of hundreds of MB of other files. */
#include <stdio.h>
#include "util.h"

int main(int argc, char **argv) {
    const char *text = argc > 1 ? argv[1] : "rockerc";
    printf("%s %08x\n", text, checksum(text));
    return 0;
}
