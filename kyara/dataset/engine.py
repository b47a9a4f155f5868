"""Run a dataset plan: in this process, or on Ray (a local instance or a cluster), with resume.

:func:`write_dataset` is the entry point. The unit of work is one character
(:func:`kyara.dataset.render.character_records`, a Ray task with ``max_retries``: a worker that
dies is replaced and the task rerun, with the same bytes since the task is a pure function).
The driver keeps a bounded number of characters in flight, in plan order, and writes a shard
(:func:`kyara.dataset.format.write_shard`: hidden ``.partial`` file, fsync, rename) as soon as
all its characters are back. So a killed run (even ``kill -9``) loses only the characters in
flight, about one shard's work; rerun with the same arguments, it removes the ``.partial``
files, keeps every finished shard untouched and makes only the missing ones.

``manifest.json`` holds the arguments (a rerun with other arguments into the same folder is
refused), the kyara version, the counts per split and every shard's size and sha256. It is
written at the start (``"complete": false``) and rewritten at the end.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from kyara.dataset.config import SPLITS, DatasetConfig, ShardPlan, plan_shards

FORMAT_NAME = "kyara-dataset"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CRASH_HOOK_ENV = "KYARA_DATASET_TEST_CRASH"  # "<character id>:<marker file>" (tests only)
TASK_RETRIES = 3
# environment of every Ray worker: one BLAS thread and one rendering thread per worker
WORKER_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "NUMEXPR_NUM_THREADS": "1", "KYARA_GL_THREADS": "1", "LP_NUM_THREADS": "1"}


@dataclass
class DatasetResult:
    out_dir: Path
    shards_written: list[str] = field(default_factory=list)
    shards_kept: list[str] = field(default_factory=list)
    partials_removed: int = 0
    characters: int = 0  # characters made by this run
    samples: int = 0  # samples made by this run
    # build/pose/render/encode (summed over workers), write, startup (Ray), shutdown (Ray), total
    seconds: dict[str, float] = field(default_factory=dict)
    nodes: dict[str, int] = field(default_factory=dict)  # characters made per Ray node ("local" without Ray)


def _kyara_version() -> str:
    from kyara import __version__

    return __version__


def manifest_dict(cfg: DatasetConfig, shards: Sequence[ShardPlan], hashes: dict[str, tuple[int, str]],
                  complete: bool) -> dict:
    """The manifest (see docs/dataset.md); ``hashes``: shard name -> (bytes, sha256)."""
    counts = {s: {"characters": 0, "samples": 0, "shards": 0} for s in SPLITS}
    rows = []
    for sh in shards:
        c = counts[sh.split]
        c["characters"] += len(sh.characters)
        c["samples"] += sh.samples
        c["shards"] += 1
        row = {"name": sh.name, "split": sh.split, "characters": len(sh.characters), "samples": sh.samples,
               "first_character": sh.characters[0].id}
        if sh.name in hashes:
            row["bytes"], row["sha256"] = hashes[sh.name]
        rows.append(row)
    return {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "kyara_version": _kyara_version(),
            "kind": cfg.kind, "seed": cfg.seed, "args": cfg.to_dict(), "complete": bool(complete),
            "counts": {"characters": sum(c["characters"] for c in counts.values()),
                       "samples": sum(c["samples"] for c in counts.values()), "splits": counts},
            "shards": rows}


def read_manifest(folder: str | os.PathLike) -> dict:
    """The manifest of a dataset folder; ``ValueError`` naming the folder when it is missing or bad."""
    p = Path(folder) / MANIFEST
    if not p.is_file():
        raise ValueError(f"'{folder}' holds no {MANIFEST}, expected a folder written by kyara dataset")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"'{p}' is not valid JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise ValueError(f"'{p}' is not a kyara dataset manifest")
    return data


def _write_manifest(folder: Path, data: dict) -> None:
    from kyara.fileio import write_text_atomic

    write_text_atomic(folder / MANIFEST, json.dumps(data, indent=1, sort_keys=True) + "\n")


def prepare_output(cfg: DatasetConfig, out_dir: str | os.PathLike) -> Path:
    """Check the output folder before any work: new, empty, or a dataset of the same arguments
    and kyara version (then the run resumes). Creates nothing."""
    from kyara.fileio import check_output_dir

    d = check_output_dir(out_dir)
    if d.exists() and any(d.iterdir()):
        if not (d / MANIFEST).exists():
            raise ValueError(f"output folder '{d}' is not empty and holds no {MANIFEST}, expected a new folder "
                             "or a dataset to resume")
        old = read_manifest(d)
        if old.get("args") != cfg.to_dict():
            diff = sorted(k for k in set(old.get("args") or {}) | set(cfg.to_dict())
                          if (old.get("args") or {}).get(k) != cfg.to_dict().get(k))
            raise ValueError(f"output folder '{d}' holds a dataset made with other arguments ({', '.join(diff)} "
                             "differ), expected the same arguments to resume or a new folder")
        if old.get("kyara_version") != _kyara_version():
            raise ValueError(f"output folder '{d}' holds a dataset of kyara {old.get('kyara_version')}, this is "
                             f"{_kyara_version()}: its shards would differ, use a new folder")
    return d


# -- the work ---------------------------------------------------------------------------------
def _crash_hook(job_id: str, hook: str | None) -> None:
    """Tests: exit this worker abruptly on its first attempt at character ``job_id``."""
    if not hook or ":" not in hook:
        return
    cid, marker = hook.split(":", 1)
    if cid != job_id or os.path.exists(marker):
        return
    with open(marker, "w", encoding="utf-8") as fh:
        fh.write(str(os.getpid()))
    print(f"[kyara dataset] test hook: worker pid {os.getpid()} exits on its first attempt at character {cid}",
          flush=True)
    os._exit(17)


def _where() -> dict:
    """``{"node", "pid", "attempt"}`` of this task: the Ray node id (``local`` without Ray) and the
    attempt number (0 = first; Ray's retries after a worker died count up; None when unknown)."""
    node, attempt = "local", 0
    if "ray" in sys.modules:
        import ray

        if ray.is_initialized():
            node = ray.get_runtime_context().get_node_id()[:12]
            try:  # not in Ray's public API: kept optional
                attempt = int(ray._private.worker.global_worker.core_worker.get_current_task_attempt_number())
            except Exception:  # noqa: BLE001 - any failure just means "unknown"
                attempt = None
    return {"node": node, "pid": os.getpid(), "attempt": attempt}


def run_character(cfg_dict: dict, job, hook: str | None = None, motion_data: tuple[bytes, ...] = ()):
    """One character's records (what a Ray task runs): ``(members, seconds, where)`` (:func:`_where`).
    ``cfg_dict``: :meth:`DatasetConfig.to_dict`; ``motion_data``: the bytes of its motion files
    (:meth:`DatasetConfig.motion_data`; a Ray task gets them from the object store, put once).

    Rendering runs on one GL thread (``KYARA_GL_THREADS=1``, restored afterwards): where a view
    lands in the renderer's framebuffer stack changes its float maps in the last bits, and the
    stack depends on the thread count, so every process must render alike to give equal bytes."""
    from kyara.dataset.render import character_records
    from kyara.render.gl import PARALLEL_ENV

    _crash_hook(job.id, hook)
    before = os.environ.get(PARALLEL_ENV)
    os.environ[PARALLEL_ENV] = "1"
    try:
        rec = character_records(DatasetConfig.from_dict(cfg_dict, motion_data), job)
    finally:
        if before is None:
            os.environ.pop(PARALLEL_ENV, None)
        else:
            os.environ[PARALLEL_ENV] = before
    return rec.members, rec.seconds, _where()


class _Executor:
    """Runs characters in order with at most ``window`` in flight; ``next_done()`` returns
    ``(job, (members, seconds))`` in completion order."""

    def __init__(self, cfg: DatasetConfig, jobs, window: int, ray_mod=None) -> None:
        self.cfg, self.jobs, self.window, self.ray = cfg, list(jobs), max(1, window), ray_mod
        self.next = 0
        self.pending: dict = {}
        self.hook = os.environ.get(CRASH_HOOK_ENV)
        self.motion_data = cfg.motion_data()
        if ray_mod is not None:
            self.task = ray_mod.remote(num_cpus=1, max_retries=TASK_RETRIES)(run_character).options(
                name="kyara_dataset_character")
            if self.motion_data:  # the motion files' bytes go to the object store once
                self.motion_data = ray_mod.put(self.motion_data)

    def _fill(self) -> None:
        while self.ray is not None and self.next < len(self.jobs) and len(self.pending) < self.window:
            job = self.jobs[self.next]
            self.pending[self.task.remote(self.cfg.to_dict(), job, self.hook, self.motion_data)] = job
            self.next += 1

    def next_done(self):
        if self.ray is None:
            job = self.jobs[self.next]
            self.next += 1
            return job, run_character(self.cfg.to_dict(), job, self.hook, self.motion_data)
        self._fill()
        ready, _ = self.ray.wait(list(self.pending), num_returns=1)
        job = self.pending.pop(ready[0])
        result = self.ray.get(ready[0])
        self._fill()
        return job, result

    def remaining(self) -> int:
        return len(self.jobs) - self.next + len(self.pending)


LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"  # "0": Ray's single-machine mode, every socket on 127.0.0.1


def init_ray(address: str | None, workers: int | None, env_vars: dict | None = None, log_to_driver: bool = True):
    """Start Ray for kyara: join the cluster at ``address``, or (``None``) start a private local
    instance with ``workers`` CPUs that never joins a cluster already running on the machine
    (``address="local"``), has no dashboard and listens on 127.0.0.1 only. Returns the module."""
    from kyara.errors import require_extra

    require_extra(("ray",), "the data engine", "dataset", "ray")
    set_loopback = not address and "ray" not in sys.modules and LOOPBACK_ENV not in os.environ
    if set_loopback:  # read once, when ray is imported; inherited by the processes ray.init starts
        os.environ[LOOPBACK_ENV] = "0"
    try:
        import ray

        env = {"env_vars": dict(env_vars)} if env_vars else None
        if address:
            host = str(address).rsplit(":", 1)[0]
            kw = {"_node_ip_address": "127.0.0.1"} if host in ("127.0.0.1", "localhost") and \
                os.environ.get(LOOPBACK_ENV) == "0" else {}
            ray.init(address=address, runtime_env=env, log_to_driver=log_to_driver, configure_logging=False, **kw)
        else:
            ray.init(address="local", num_cpus=workers, include_dashboard=False, log_to_driver=log_to_driver,
                     configure_logging=False, _node_ip_address="127.0.0.1", runtime_env=env)
    finally:
        if set_loopback:
            os.environ.pop(LOOPBACK_ENV, None)
    return ray


def write_dataset(cfg: DatasetConfig, out_dir: str | os.PathLike, *, ray_address: str | None = None,
                  workers: int | None = None, use_ray: bool = True,
                  log: Callable[[str], None] | None = None, progress: bool | None = None) -> DatasetResult:
    """Write the dataset of ``cfg`` into ``out_dir`` (or resume it there); returns what was done.

    ``use_ray=False`` runs every character in this process (the reference the Ray runs equal).
    With Ray: ``ray_address`` joins that cluster, else a local instance with ``workers`` CPUs
    (default: this machine's cores) is started and shut down. ``log`` gets one line per shard.
    Bad arguments or a foreign output folder raise ``ValueError`` before anything is written.
    """
    from kyara.dataset.format import remove_partials, sha256_file, tar_bytes, write_shard

    if not isinstance(cfg, DatasetConfig):
        raise ValueError(f"cfg is a {type(cfg).__name__}, expected kyara.dataset.DatasetConfig")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 4096):
        raise ValueError(f"--workers {workers!r} is out of range, expected an integer 1..4096")
    if ray_address is not None and not str(ray_address).strip():
        raise ValueError("--ray address is empty, expected host:port of a running Ray cluster (or 'auto')")
    say = log or (lambda line: None)
    d = prepare_output(cfg, out_dir)
    shards = plan_shards(cfg)
    t_start = time.perf_counter()
    res = DatasetResult(d, seconds={"build": 0.0, "pose": 0.0, "render": 0.0, "encode": 0.0, "write": 0.0})
    d.mkdir(exist_ok=True)
    res.partials_removed = len(remove_partials(d))
    hashes: dict[str, tuple[int, str]] = {}
    todo = []
    for sh in shards:
        p = d / sh.name
        if p.exists():
            hashes[sh.name] = (p.stat().st_size, sha256_file(p))
            res.shards_kept.append(sh.name)
        else:
            todo.append(sh)
    _write_manifest(d, manifest_dict(cfg, shards, hashes, complete=not todo))
    if res.partials_removed or res.shards_kept:
        say(f"resuming: {len(res.shards_kept)} finished shards kept, {res.partials_removed} partial removed, "
            f"{len(todo)} to make")
    if todo:
        jobs = [c for sh in todo for c in sh.characters]
        n_workers = workers or max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else
                                   (os.cpu_count() or 1))
        t = time.perf_counter()
        ray = init_ray(ray_address, n_workers, WORKER_ENV) if use_ray else None
        res.seconds["startup"] = time.perf_counter() - t
        try:
            if ray is not None:
                n_workers = max(1, int(ray.cluster_resources().get("CPU", n_workers)))
            window = max(n_workers, min(cfg.shard_characters, 2 * n_workers))
            ex = _Executor(cfg, jobs, window, ray)
            got: dict[str, tuple] = {}
            nodes = res.nodes
            bar = _progress(len(jobs), progress)
            for sh in todo:
                while any(c.id not in got for c in sh.characters):
                    job, (members, seconds, where) = ex.next_done()
                    got[job.id] = members
                    nodes[where["node"]] = nodes.get(where["node"], 0) + 1
                    if where.get("attempt"):
                        say(f"character {job.id}: made on attempt {where['attempt'] + 1} (Ray retried it after its "
                            f"worker died), node {where['node']} pid {where['pid']}")
                    for k, v in seconds.items():
                        res.seconds[k] = res.seconds.get(k, 0.0) + float(v)
                    res.characters += 1
                    res.samples += job.samples
                    bar(1)
                t = time.perf_counter()
                data = tar_bytes(m for c in sh.characters for m in got.pop(c.id))
                hashes[sh.name] = (len(data), write_shard(d, sh.name, data))
                res.seconds["write"] += time.perf_counter() - t
                res.shards_written.append(sh.name)
                say(f"wrote {sh.name}: {len(sh.characters)} characters, {sh.samples} samples, "
                    f"{len(data) / 1e6:.1f} MB")
            bar(0, close=True)
            say("characters per node: " + ", ".join(f"{n} {c}" for n, c in sorted(nodes.items())))
        finally:
            if ray is not None:
                t = time.perf_counter()
                ray.shutdown()
                res.seconds["shutdown"] = time.perf_counter() - t
        _write_manifest(d, manifest_dict(cfg, shards, hashes, complete=True))
    res.seconds["total"] = time.perf_counter() - t_start
    return res


def _progress(total: int, enabled: bool | None):
    """A rich progress bar on stderr (default: only when stderr is a terminal); returns ``step(n)``."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return lambda n, close=False: None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("characters"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   transient=True)
    task = bar.add_task("characters", total=total)
    bar.start()

    def step(n: int, close: bool = False) -> None:
        bar.advance(task, n)
        if close:
            bar.stop()

    return step
