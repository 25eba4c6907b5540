#!/usr/bin/env python3
"""Shares of CPU samples by function, for a stripped Go binary.

usage: go_profile.py BINARY PERF_SCRIPT_OUTPUT [TOP]

PERF_SCRIPT_OUTPUT is what `perf script -F ip,dso` printed for samples of
BINARY. Debian strips its Go binaries (docker-registry, skopeo), so perf
shows bare addresses; Go keeps its own function table (.gopclntab) in the
binary, which this reads (Go 1.18 and later) to name them. Samples in the
kernel or in libraries count as "[kernel and libraries]".
"""
import bisect
import collections
import re
import struct
import sys


def section(elf, wanted):
    """(file offset, address) of an ELF64 section by name."""
    shoff, = struct.unpack_from("<Q", elf, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 0x3A)
    def header(i):
        # name, type, flags, addr, offset
        return struct.unpack_from("<IIQQQ", elf, shoff + i * shentsize)
    strtab = header(shstrndx)[4]
    for i in range(shnum):
        name, _, _, addr, offset = header(i)
        end = elf.index(b"\0", strtab + name)
        if elf[strtab + name:end].decode() == wanted:
            return offset, addr
    sys.exit(f"{wanted} not found: not a Go binary")


def functions(path):
    """Sorted entry addresses and the names of the functions they start."""
    elf = open(path, "rb").read()
    table, _ = section(elf, ".gopclntab")
    magic, = struct.unpack_from("<I", elf, table)
    if magic not in (0xFFFFFFF0, 0xFFFFFFF1):
        sys.exit(f"{path}: Go function table version {magic:#x} is not supported (Go 1.18 or later is)")
    nfunc, _, text_start, names_off, _, _, _, funcs_off = struct.unpack_from("<8Q", elf, table + 8)
    entries, names = [], []
    for i in range(nfunc):
        _, func_off = struct.unpack_from("<II", elf, table + funcs_off + 8 * i)
        entry_off, name_off = struct.unpack_from("<Ii", elf, table + funcs_off + func_off)
        start = table + names_off + name_off
        entries.append(text_start + entry_off)
        names.append(elf[start:elf.index(b"\0", start)].decode())
    _, text_addr = section(elf, ".text")
    # perf prints addresses relative to where the binary was mapped, which
    # for a non-PIE binary is the image base below .text.
    base = text_addr & ~0xFFFFF
    return entries, names, base


def main():
    binary, samples = sys.argv[1], sys.argv[2]
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 12
    entries, names, base = functions(binary)
    counts, total = collections.Counter(), 0
    for line in open(samples):
        m = re.match(r"\s*([0-9a-f]+)\s+\((.*)\)\s*$", line)
        if not m:
            continue
        total += 1
        addr, dso = int(m.group(1), 16), m.group(2)
        if not dso.endswith(binary.rsplit("/", 1)[-1]):
            counts["[kernel and libraries]"] += 1
            continue
        if addr < base:
            addr += base
        counts[names[bisect.bisect_right(entries, addr) - 1]] += 1
    for name, n in counts.most_common(top):
        print(f"{100 * n / total:5.1f}%  {name}")
    print(f"({total} samples)")


if __name__ == "__main__":
    main()
