"""Fuzzing the event log as the GUI and the CLI read it: torn, interleaved, huge and non-UTF-8
lines, rotations (compressed or not, one cut short by a kill), engines restarted after a kill,
and readers polling at any moment with any budget.

The property: every reader delivers exactly the well-formed complete lines of the log, in order,
each once: one that followed the log all along, one that replays it from the start afterwards
(a window opened later), and one that started at the end after a restart (the CLI reporting what
one launch logged). A line longer than a whole read is skipped, never waited on, and the tail of
a skipped line is never taken for an event.
"""

from __future__ import annotations

import gzip
import json
import os

from fuzz_testkit import budget
from hypothesis import assume, event, example, given
from hypothesis import strategies as st

from engine.events import LOG_PART, EventTailer, EventWriter, _plain, parse_line, rotated_parts, rotated_path

POLL_BYTES = st.integers(min_value=1024, max_value=4096)  # every event the writer emits is shorter
HUGE = 5000  # a raw line this long is longer than any read

raw_lines = st.one_of(
    st.binary(max_size=60),  # garbage, non-UTF-8, or a line torn off without its newline
    st.binary(max_size=30).map(lambda b: b + b"\n"),
    st.text(max_size=40).map(lambda t: t.encode("utf-8", "surrogatepass") + b"\n"),
    st.sampled_from([b'{"type": "x"', b'"type": "y"}\n', b"[" * 3000 + b"\n", b'{"type": 3}\n', b"null\n",
                     b'{"v": 1, "type": "log", "message": "\xff"}\n', b'{"type": "raw", "n": 1}\n']),
    st.integers(HUGE, 3 * HUGE).map(lambda n: b" " * n + b'{"type": "injected"}\n'),  # any tail of it parses
)
operations = st.lists(st.one_of(
    st.tuples(st.just("emit"), st.text(max_size=200)),
    st.tuples(st.just("raw"), raw_lines),
    st.tuples(st.just("poll"), POLL_BYTES),
    st.tuples(st.just("restart"), st.booleans()),  # a new engine (a resume), its log part size
    st.tuples(st.just("killed-rotation"), st.none()),  # a kill between renaming a part and starting the next
    st.tuples(st.just("follow-from-here"), st.none()),
), max_size=60)


def _lines(data: bytes) -> list[bytes]:
    """The complete lines of one file of the log (text after the last newline is not a line yet)."""
    return data.split(b"\n")[:-1]


def well_formed(log) -> list[tuple[dict, int]]:
    """(event, its index among all complete lines) of every well-formed line, rotated parts first."""
    files = []
    for part in rotated_parts(log):
        gz = rotated_path(log, part)
        files.append(gzip.decompress(gz.read_bytes()) if gz.exists() else _plain(gz).read_bytes())
    files.append(log.read_bytes() if log.exists() else b"")
    found, index = [], 0
    for data in files:
        for line in _lines(data):
            event = parse_line(line)
            if event is not None and event["type"] != LOG_PART and len(line) < HUGE:
                assume(len(line) < 1024)  # a valid line longer than some reads is skipped by some readers only
                found.append((event, index))
            index += 1
    return found


def drained(tailer: EventTailer, max_bytes: int = 1024) -> list[dict]:
    return list(tailer.drain(max_bytes))


@budget(120)
@given(ops=operations, compress=st.booleans())
@example(ops=[("raw", b" " * 5000 + b'{"type": "injected"}\n'), ("killed-rotation", None), ("poll", 2511)],
         compress=False)  # found by the fuzzer: a rotated part's reader took a line longer than a read
def test_every_reader_gets_each_well_formed_line_once_in_order(ops, compress, tmp_path, monkeypatch):
    if not compress:  # rotated parts left plain, as a full disk leaves them
        monkeypatch.setattr("engine.events._compress", lambda log, part: None)
    log = tmp_path / f"run-{os.urandom(4).hex()}" / "events.jsonl"
    writer = EventWriter(log, "r", part_bytes=300)
    follower, followed = EventTailer(log), []
    late, late_from = None, 0
    for kind, arg in ops:
        if kind == "emit":
            writer.emit("log", message=arg)
        elif kind == "raw":
            with open(log, "ab") as handle:
                handle.write(arg)
        elif kind == "poll":
            followed += follower.poll(arg)
        elif kind == "restart":
            writer = EventWriter(log, "r", part_bytes=300 if arg else 10_000)
        elif kind == "killed-rotation" and log.exists():
            os.replace(log, _plain(rotated_path(log, (rotated_parts(log) or [0])[-1] + 1)))
            writer = EventWriter(log, "r", part_bytes=300)
        elif kind == "follow-from-here" and late is None:
            writer = EventWriter(log, "r", part_bytes=300)  # what the CLI does: a tailer at the end, then the engine
            late, late_from = EventTailer.at_end(log), len(well_formed(log))
    truth = [event for event, _ in well_formed(log)]
    event(f"parts: {min(len(rotated_parts(log)), 5)}+")

    assert followed + drained(follower) == truth
    assert drained(EventTailer(log)) == truth
    assert all(e["type"] != "injected" for e in followed)
    if late is not None:
        assert drained(late) == truth[late_from:]


@budget(200)
@given(data=st.binary(max_size=2000) | st.text(max_size=500).map(str.encode))
def test_any_line_parses_or_is_skipped_never_raises(data):
    event = parse_line(data)
    assert event is None or isinstance(event["type"], str)


def test_replay_reads_a_log_of_many_parts_with_bounded_reads(tmp_path):
    log = tmp_path / "events.jsonl"
    writer = EventWriter(log, "r", part_bytes=2000)
    for step in range(1, 501):
        writer.emit("metrics", stage="rl", step=step, metrics={"loss": 1 / step})
    assert len(rotated_parts(log)) > 20 and log.stat().st_size < 2000 + 200
    assert not list(log.parent.glob("events.*.jsonl")), "every rotated part is compressed"
    steps = [e["step"] for e in drained(EventTailer(log), max_bytes=1500)]
    assert steps == list(range(1, 501))
    assert json.loads(log.read_text().splitlines()[0])["type"] == LOG_PART


def test_a_rotation_between_a_readers_two_looks_loses_nothing(tmp_path, monkeypatch):
    """The reader finds no rotated part, then the writer rotates, then the reader opens the new
    live log: it must go back for the part it was reading instead of reading the new one from the
    old offset."""
    from engine import events

    log = tmp_path / "events.jsonl"
    writer = EventWriter(log, "r", part_bytes=10_000)
    writer.emit("log", message="first")
    tailer = EventTailer(log)
    assert [e["message"] for e in tailer.poll()] == ["first"]
    writer.emit("log", message="second")
    real, calls = events._rotated_file, []

    def rotate_after_first_look(path, part):
        found = real(path, part)
        if not calls:
            writer._rotate()
            writer.emit("log", message="third")
        calls.append(part)
        return found
    monkeypatch.setattr(events, "_rotated_file", rotate_after_first_look)
    assert [e["message"] for e in drained(tailer)] == ["second", "third"]
