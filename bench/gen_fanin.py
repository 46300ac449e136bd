#!/usr/bin/env python3
"""A fan-in of EXPORT -> IMPORT: N builder stages each EXPORT one file, and a last stage IMPORTs
every one of them (one IMPORT line each, so the IMPORTs share one build).

Usage: python3 bench/gen_fanin.py N > Rockerfile
"""
import sys


def main():
    n = int(sys.argv[1])
    out = []
    for i in range(n):
        out.append(f"FROM rockerc-test/busybox AS part{i}\nRUN mkdir -p /out && echo {i} > /out/f{i}\nEXPORT /out/f{i}\n")
    out.append("FROM rockerc-test/busybox\n" + "".join(f"IMPORT f{i} /parts/\n" for i in range(n)) + "TAG rockerc-bench/fanin:latest\n")
    sys.stdout.write("\n".join(out))


if __name__ == "__main__":
    main()
