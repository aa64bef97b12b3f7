#!/usr/bin/env python3
"""Normalise a cli_mt transcript written by driver.py (stdin -> stdout) so that the runs against
Apache ZooKeeper and against zkgo can be diffed.

Only what legitimately differs between two servers (or two runs) is rewritten:
  * dates printed by dumpStat (ctime_r, TZ=UTC) -> <date>; the epoch date of nodes with zero
    times (/, /zookeeper, ...) stays literal;
  * zxids (czxid=, mzxid=, hex) -> Z1, Z2, ... and session ids ("Got a new session id: 0x..",
    "session Id = ..", "ephemeralOwner = ..") -> S1, S2, ... by first appearance; numbering
    restarts at each "=== session" line, so equal ids stay equal and distinct ids distinct
    (0 stays literal);
  * "time = N msec" (cli_mt's own stopwatch) -> "time = <n> msec";
  * the prefix of the C client's log lines ("2024-01-02 03:04:05,678:PID(0xTID):ZOO_ERROR@...")
    -> "<log>:ZOO_ERROR@...", the rest of the line (function, line number, message) is kept;
  * "127.0.0.1:PORT" -> "127.0.0.1:<port>".
And one order the protocol leaves unspecified: the children listed by ls / ls2 (getChildren
answers in the server's hash order) are sorted; the names themselves are kept.
Results, rc values, data, versions, names, event lines and exit statuses are never touched.
"""
import re
import sys

DATE = re.compile(r"[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \d{4}")
EPOCH = "Thu Jan  1 00:00:00 1970"
LOG = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}:\d+\(0x[0-9a-f]+\):(ZOO_[A-Z]+@)")
TIME = re.compile(r"^time = -?\d+ msec$")
RC = re.compile(r"^/\S*: rc = -?\d+$")
zx, ss = {}, {}


def ident(table, prefix):
    def f(m):
        v = m.group(2).lower()
        if int(v, 16) == 0:
            return m.group(0)
        table.setdefault(v, "%s%d" % (prefix, len(table) + 1))
        return m.group(1) + table[v]
    return f


def normalise_line(line):
    if EPOCH not in line:
        line = DATE.sub("<date>", line)
    line = re.sub(r"(\t[cm]zxid=)([0-9a-f]+)$", ident(zx, "Z"), line)
    line = re.sub(r"^(Got a new session id: 0x)([0-9a-f]+)$", ident(ss, "S"), line)
    line = re.sub(r"^(session Id = )([0-9a-f]+)$", ident(ss, "S"), line)
    line = re.sub(r"^(\tephemeralOwner = )([0-9a-f]+)$", ident(ss, "S"), line)
    line = TIME.sub("time = <n> msec", line)
    line = LOG.sub(r"<log>:\1", line)
    line = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<port>", line)
    return line


def sort_children(lines):
    """my_strings_completion prints: time = .., PATH: rc = N, one TAB-indented line per
    child, time = ..; sort the child lines of every such block."""
    out = list(lines)
    i = 0
    while i + 1 < len(out):
        if TIME.match(out[i]) or out[i] == "time = <n> msec":
            if RC.match(out[i + 1]):
                j = i + 2
                while j < len(out) and out[j].startswith("\t"):
                    j += 1
                if j < len(out) and out[j] == "time = <n> msec":
                    out[i + 2:j] = sorted(out[i + 2:j])
                    i = j
                    continue
        i += 1
    return out


def main():
    lines = []
    for l in sys.stdin:
        l = l.rstrip("\n")
        if l.startswith("=== session "):
            zx.clear()
            ss.clear()
        lines.append(normalise_line(l))
    sys.stdout.write("".join(x + "\n" for x in sort_children(lines)))


if __name__ == "__main__":
    main()
