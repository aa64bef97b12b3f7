#!/usr/bin/env python3
"""Normalise a zkCli.sh transcript (stdin -> stdout) so Apache and zkgo runs can be diffed.

Only values that legitimately differ between two servers (or two runs) are rewritten:
  * dates (ctime/mtime) -> <date>; the epoch date of nodes with zero times stays literal;
  * zxids (cZxid/mZxid/pZxid) -> Z1, Z2, ... and session ids (ephemeralOwner) -> S1, S2, ...
    by first appearance (numbering restarts at each "=== session" line), so equal ids stay
    equal and distinct ids stay distinct (0x0 stays literal; so do the TTL/container owner
    encodings 0xff..., 0x8000000000000000, should a server ever show them to clients);
  * the client port in "127.0.0.1:PORT" (banner, connect command) -> <port>.
Per command (the transcript's "$ command" lines), orders the protocol leaves unspecified:
  * getEphemerals: the list items are sorted (the server answers from a hash set);
  * whoami: the "scheme: user" lines are sorted (the server keeps auth ids in a hash set);
  * ls -R: the listed paths are sorted (DFS over getChildren, whose order is unspecified);
  * quit: a trailing "state:Closed" event is dropped (quit closes the session and exits the
    JVM at once; whether the client's event thread prints the Closed event first is a race
    inside the client).
Everything else, including error texts, stat fields, event lines and exit codes, stays as is.
"""
import re
import sys

DATE = re.compile(r"[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d [A-Z]{2,5} \d{4}")
EPOCH = "Thu Jan 01 00:00:00 UTC 1970"
zx, ss = {}, {}


def ident(table, prefix, keep=lambda v: False):
    def f(m):
        v = m.group(2)
        n = int(v, 16)
        if n == 0 or keep(n):
            return m.group(0)
        table.setdefault(v, "%s%d" % (prefix, len(table) + 1))
        return m.group(1) + table[v]
    return f


def special_owner(n):
    return (n >> 56) == 0xFF or n == 0x8000000000000000


def normalise_line(line):
    if EPOCH not in line:
        line = DATE.sub("<date>", line)
    line = re.sub(r"^([cmp]Zxid = )0x([0-9a-f]+)", ident(zx, "Z"), line)
    line = re.sub(r"^(ephemeralOwner = )0x([0-9a-f]+)", ident(ss, "S", special_owner), line)
    line = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<port>", line)
    return line


def is_aside(line):
    """stderr lines, events, driver notes: not part of the command's stdout body."""
    return line.startswith(("[stderr] ", "WATCHER::", "WatchedEvent ", "[driver]", "[exit ", "[rc="))


def fix_block(cmd, body):
    """Apply the per-command rules to the command's stdout lines, in place (positions of
    stderr/event/status lines are kept)."""
    words = cmd.split()
    name = words[0] if words else ""
    pos = [k for k, l in enumerate(body) if not is_aside(l)]
    out = [body[k] for k in pos]
    if name == "getEphemerals":
        fixed = []
        for l in out:
            m = re.match(r"^\[(.*)\]$", l)
            if m and m.group(1):
                l = "[" + ", ".join(sorted(m.group(1).split(", "))) + "]"
            fixed.append(l)
        out = fixed
    elif name == "whoami":
        if out and out[0] == "Auth scheme: User":
            out = out[:1] + sorted(out[1:])
    elif name == "ls" and "-R" in words[1:-1]:
        out = sorted(out)
    body = list(body)
    for k, l in zip(pos, out):
        body[k] = l
    if name == "quit":
        body = [l for l in body if l != "WATCHER:: WatchedEvent state:Closed type:None path:null"]
    return body


def main():
    lines = []
    for l in sys.stdin:
        if l.startswith("=== session "):
            zx.clear()  # ids are numbered per session, so sessions can be compared one by one
            ss.clear()
        lines.append(normalise_line(l.rstrip("\n")))
    res, i = [], 0
    while i < len(lines):
        l = lines[i]
        if l.startswith("$ "):
            j = i + 1
            while j < len(lines) and not lines[j].startswith(("$ ", "% ", "=== ")):
                j += 1
            res.append(l)
            res.extend(fix_block(l[2:], lines[i + 1:j]))
            i = j
            continue
        res.append(l)
        i += 1
    sys.stdout.write("".join(x + "\n" for x in res))


if __name__ == "__main__":
    main()
