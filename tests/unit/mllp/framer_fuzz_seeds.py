#!/usr/bin/env python3
"""Writes seed inputs for fuzz/mllp_framer_fuzz from files of HL7 messages (hl7-gen's
output, the external corpus's good/ folder): each file's messages, MLLP-framed back to
back, behind the fuzzer's two control bytes (maximum frame size, read cuts).
Usage: framer_fuzz_seeds.py OUT_DIR MESSAGE_DIR..."""
import os
import sys


def messages(text):
    """Messages start at lines beginning MSH; segments are re-joined with CR."""
    out, current = [], None
    for line in text.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n"):
        if line.startswith(b"MSH"):
            current = []
            out.append(current)
        elif not line:
            current = None
            continue
        if current is not None:
            current.append(line)
    return [b"\r".join(m) + b"\r" for m in out]


def main(out_dir, message_dirs):
    os.makedirs(out_dir, exist_ok=True)
    count = 0
    walks = [w for d in message_dirs for w in sorted(os.walk(d))]
    for root, _, files in walks:
        for name in sorted(files):
            with open(os.path.join(root, name), "rb") as f:
                framed = b"".join(b"\x0b" + m + b"\x1c\x0d" for m in messages(f.read()))
            if not framed:
                continue
            # 0xFF: a 4080-byte maximum (most messages fit, the large ones are oversize).
            for control in (b"\xff\x00", b"\x10\x07"):
                with open(os.path.join(out_dir, "seed-%03d" % count), "wb") as f:
                    f.write(control + framed)
                count += 1
    print("wrote %d seeds to %s" % (count, out_dir))


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
