/* (d) The program, built against the headers of the packages fetch.sh installed. */
#include <stdio.h>
#include "libalpha/libalpha.h"
#include "libbeta/libbeta.h"

int main(void) {
    printf("libalpha %s, libbeta %s\n", LIBALPHA_VERSION, LIBBETA_VERSION);
    return 0;
}
