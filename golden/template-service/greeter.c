/* A tiny service binary: it says which build it is. The build passes VERSION, BUILD and
 * CHANNEL as -D flags; the defaults only show when someone compiles it by hand. */
#include <stdio.h>
#include <stdlib.h>

#ifndef VERSION
#define VERSION "0.0.0"
#endif
#ifndef BUILD
#define BUILD "local"
#endif
#ifndef CHANNEL
#define CHANNEL "dev"
#endif

int main(void) {
    const char *greeting = getenv("GREETER_GREETING");
    printf("greeter %s (build %s, %s): %s\n", VERSION, BUILD, CHANNEL, greeting ? greeting : "hello");
    return 0;
}
