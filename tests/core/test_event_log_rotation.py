"""A long run's log is rotated into compressed parts; replay, re-attach and the CLI's report of
one launch read through the parts as if the log were one file (fuzzed in tests/fuzz)."""

from __future__ import annotations

from engine.events import EventTailer, EventWriter, read_events, rotated_parts, tail_events


def test_the_last_lines_of_a_just_rotated_log_come_from_the_part_before(tmp_path):
    log = tmp_path / "events.jsonl"
    writer = EventWriter(log, "r", part_bytes=4000)
    sent = 0
    while not rotated_parts(log) or sent % 5:  # a few lines into the second part
        writer.log(f"message {sent}")
        sent += 1
    assert log.stat().st_size < 1000
    messages = [e["message"] for e in tail_events(log, 2000)]
    assert len(messages) > 10 and messages == [f"message {i}" for i in range(sent - len(messages), sent)]


def test_a_launch_reports_only_what_it_logged_even_across_a_rotation(tmp_path):
    log = tmp_path / "events.jsonl"
    EventWriter(log, "r", part_bytes=500).log("from the first launch")
    since = EventTailer.at_end(log)  # what `train`/`resume` take before the engine writes
    writer = EventWriter(log, "r", part_bytes=500)
    for i in range(20):
        writer.emit("warning", message=f"w{i}")
    assert len(rotated_parts(log)) >= 2
    assert [e["message"] for e in since.drain()] == [f"w{i}" for i in range(20)]
    assert len(read_events(log)) == 21
