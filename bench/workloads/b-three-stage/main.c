/* Stage 2 of (b): the program, linked with the table stage 1 generated (CRC-32 of its input). */
#include <stdio.h>

extern const unsigned table[256];

int main(void) {
    unsigned crc = 0xFFFFFFFFu;
    int c;
    while ((c = getchar()) != EOF) crc = table[(crc ^ (unsigned)c) & 0xFFu] ^ (crc >> 8);
    printf("%08x\n", crc ^ 0xFFFFFFFFu);
    return 0;
}
