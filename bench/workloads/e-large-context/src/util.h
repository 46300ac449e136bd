/* (e) A helper the program links in. */
unsigned checksum(const char *text);
