"""Writes the Python naq records the interop tests read, byte for byte as
Python naq (main branch) writes them: worker heartbeats and schedules are
cloudpickled dicts (the same bytes as pickle at the same protocol for plain
dicts and importable enums), failed jobs and results are JSON.

Run from this directory: python3 gen.py
"""
import enum
import json
import pickle
import sys
import types

# Stand-in for naq.settings, so the pickled enum names the same class
# (naq.settings.SCHEDULED_JOB_STATUS) as Python naq's records do.
naq = types.ModuleType("naq")
settings = types.ModuleType("naq.settings")


class SCHEDULED_JOB_STATUS(enum.Enum):
    ACTIVE = "active"
    PAUSED = "paused"
    FAILED = "failed"
    CANCELLED = "cancelled"


SCHEDULED_JOB_STATUS.__module__ = "naq.settings"
settings.SCHEDULED_JOB_STATUS = SCHEDULED_JOB_STATUS
naq.settings = settings
sys.modules["naq"] = naq
sys.modules["naq.settings"] = settings


def write(name, data):
    with open(name, "wb") as f:
        f.write(data)


# Worker heartbeats (worker.py, WorkerStatusManager.update_status).
idle = {"worker_id": "naq-worker-pyhost-4242-a1b2c3", "status": "idle",
        "timestamp": 1767225600.5, "hostname": "pyhost", "pid": 4242}
busy = {"worker_id": "naq-worker-pyhost-4243-d4e5f6", "status": "busy",
        "timestamp": 1767225601.25, "hostname": "pyhost", "pid": 4243,
        "job_id": "0f9e8d7c6b5a49382716051423324150"}
write("worker-idle-p4.pickle", pickle.dumps(idle, protocol=4))
write("worker-busy-p5.pickle", pickle.dumps(busy, protocol=5))

# A schedule (queue.py, ScheduledJobManager.store_job): always pickled, with
# its status an enum object.
job = {"job_id": "5d41402abc4b2a76b9719d911017c592", "enqueue_time": 1767225600.0,
       "function": "tasks:report", "args": [], "kwargs": {}, "max_retries": 0,
       "retry_delay": 0, "queue_name": "reports", "depends_on": None,
       "result_ttl": None, "timeout": None, "retry_strategy": "linear",
       "retry_on": None, "ignore_on": None}
schedule = {"job_id": "5d41402abc4b2a76b9719d911017c592",
            "scheduled_timestamp_utc": 1767229200.0, "queue_name": "reports",
            "cron": "0 * * * *", "interval_seconds": None, "repeat": None,
            "_orig_job_payload": json.dumps(job).encode("utf-8"),
            "_serializer": "json", "status": SCHEDULED_JOB_STATUS.ACTIVE,
            "schedule_failure_count": 0, "last_enqueued_utc": None,
            "next_run_utc": 1767229200.0}
write("schedule-p4.pickle", pickle.dumps(schedule, protocol=4))

# A failed job (serializers.py, JsonSerializer.serialize_failed_job).
failed = {"job_id": "7d793037a0760186574b0282f2f435e7", "enqueue_time": 1767225600.125,
          "function_str": "count_words", "args_repr": "('some text',)",
          "kwargs_repr": "{'lang': 'en'}", "max_retries": 0, "retry_delay": 0,
          "queue_name": "text_jobs", "error": "division by zero",
          "traceback": "Traceback (most recent call last):\n  File \"tasks.py\", line 3, in count_words\nZeroDivisionError: division by zero\n"}
write("failed.json", json.dumps(failed).encode("utf-8"))
# The same in pickle mode (PickleSerializer.serialize_failed_job).
write("failed-p4.pickle", pickle.dumps(failed, protocol=4))

# Results (JsonSerializer.serialize_result via Results.add_job_result). The
# worker passes the status as a plain string, which neither serializer takes
# for "completed", so both store result None even for a completed job.
write("result-completed.json", json.dumps({"status": "completed", "result": None, "error": None, "traceback": None}).encode())
write("result-failed.json", json.dumps({"status": "failed", "result": None, "error": "division by zero",
                                        "traceback": failed["traceback"]}).encode())
# The pickle serializer's shape, with a value, as a fixed serializer would
# store it: the decoder reads it.
write("result-completed-p4.pickle", pickle.dumps({"status": "completed", "result": {"words": 7, "ratio": 0.5},
                                                  "error": None, "traceback": None}, protocol=4))

# Plain values of every kind the decoder reads, at protocols 2 to 5.
shared = [1, 2]
plain = {"none": None, "t": True, "f": False, "small": 7, "neg": -3, "i16": 40000,
         "i32": -2000000000, "i64": 2**62, "negbig": -(2**40), "float": 1.5, "nan_free": -0.25,
         "text": "Grüße ✓", "long_text": "x" * 300, "bytes": b"\x00\xff", "list": [1, "a", None],
         "tuple": (1, 2.5, "b"), "t1": (1,), "t2": (1, 2), "empty": [], "et": (), "nested": {"a": [{"b": []}]},
         "shared": [shared, shared]}
for p in (2, 3, 4, 5):
    v = dict(plain)
    if p == 2:  # protocol 2 has no bytes opcode: it pickles bytes as a call
        del v["bytes"]
    write(f"plain-p{p}.pickle", pickle.dumps(v, protocol=p))

# Values the decoder must refuse.
recursive = []
recursive.append(recursive)
write("refuse-recursive.pickle", pickle.dumps(recursive, protocol=4))
write("refuse-set.pickle", pickle.dumps({"s": {1, 2}}, protocol=4))
write("refuse-bigint.pickle", pickle.dumps({"n": 2**70}, protocol=4))
write("refuse-intkey.pickle", pickle.dumps({1: "a"}, protocol=4))
write("refuse-surrogate.pickle", pickle.dumps({"s": "\udc80"}, protocol=4))
write("refuse-object.pickle", pickle.dumps({"e": SCHEDULED_JOB_STATUS.PAUSED}, protocol=5))
write("refuse-nan.pickle", pickle.dumps({"x": float("nan")}, protocol=4))
write("refuse-bytes-p2.pickle", pickle.dumps({"b": b"ab"}, protocol=2))
write("refuse-protocol0.pickle", pickle.dumps({"a": 1}, protocol=0))
