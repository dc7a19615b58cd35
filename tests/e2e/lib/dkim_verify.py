#!/usr/bin/python3
"""Verify a message's DKIM-Signature with python3-dkim, looking keys up in the lab's DNS server only.

usage: dkim_verify.py <dns address> <dns port>  < message.eml ; exit 0 = pass, 1 = fail
"""
import sys

import dkim
import dns.resolver


def main() -> int:
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [sys.argv[1]]
    resolver.port = int(sys.argv[2])

    def get_txt(name, timeout=5):
        qname = name.decode() if isinstance(name, bytes) else name
        answer = resolver.resolve(qname.rstrip("."), "TXT", lifetime=timeout)
        # A key longer than 255 bytes comes as several strings: DKIM joins them without separators.
        return b"".join(b"".join(rr.strings) for rr in answer)

    message = sys.stdin.buffer.read()
    ok = dkim.verify(message, dnsfunc=get_txt, logger=None)
    print("pass" if ok else "fail")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
