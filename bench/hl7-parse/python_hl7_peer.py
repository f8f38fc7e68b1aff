"""python-hl7 (Debian python3-hl7) on the messages hl7_parse_bench dumped.

Parses every message to the full structure and decodes every leaf with the message's
own unescape(), counting leaves and their UTF-8 bytes, in the same loop shape as the
C++ contenders. Prints one RESULT line (see bench/hl7_parse_bench.cpp).

    python3 python_hl7_peer.py MESSAGES_FILE [SECONDS]
"""
import sys
import time

import hl7


def leaves(node, message, totals):
    if isinstance(node, str):
        value = message.unescape(node) if message.esc in node else node
        totals[0] += 1
        totals[1] += len(value.encode("utf-8"))
        return
    for child in node:
        leaves(child, message, totals)


def one_pass(texts):
    totals = [0, 0]
    for text in texts:
        message = hl7.parse(text)
        for segment in message:
            for field in segment[1:]:
                leaves(field, message, totals)
    return totals


def main():
    data = open(sys.argv[1], "rb").read()
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
    texts = [m.decode("utf-8") for m in data.split(b"\x1c")]
    size = len(data) - (len(texts) - 1)
    one_pass(texts)
    passes, start = 0, time.perf_counter()
    while True:
        totals = one_pass(texts)
        passes += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            break
    rate = passes / elapsed
    print(f"RESULT python-hl7 {rate * len(texts):.0f} {rate * size / 1e6:.2f} {totals[0]} {totals[1]}", flush=True)


if __name__ == "__main__":
    main()
