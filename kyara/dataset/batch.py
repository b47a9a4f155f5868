"""``kyara batch``: many create/image/animate/export jobs from one YAML file, on Ray.

The job file::

    jobs:
      - create: {prompt: "a girl in a kimono", seed: 3, size: 256}
      - image: {prompt: "1girl, smile", model: tiny, steps: 2, size: 64, device: cpu}
      - animate: {motion: walk, body: chibi, size: 128, output: walk.gif}
      - export: {spec: characters/hero.json, format: vrm}

Each item names one command; its arguments are the command's options by their CLI long name
(``control-strength`` or ``control_strength``), positional arguments by their parameter name
(``prompt``, ``spec``). Flags take ``true``/``false``, repeatable options a list. Job ``i``
writes into ``DIR/{i:04d}_{kind}/`` (``-o`` is set there; ``output`` may only rename the file a
command writes, e.g. ``walk.gif``). Relative paths in a job are read from the job file's folder.

:func:`load_jobs` checks the whole file before anything runs (``ValueError`` naming the job).
:func:`run_batch` runs each job in a Ray worker by calling the command itself
(:func:`kyara.cli.main.run` with the job's argv), output in ``job.log``; a job that succeeds gets
``done.json`` and is skipped when the batch is run again with the same arguments. A failed job
is reported and the others go on; the batch's exit code is 1 when any job failed.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from kyara.fileio import brief

JOB_KINDS = ("create", "image", "animate", "export")
MAX_JOB_FILE_BYTES = 1_000_000
MAX_JOBS = 10_000
DONE = "done.json"
LOG = "job.log"
# the file a command writes into its job folder when the job does not say ``output``
DEFAULT_OUTPUT = {"create": None, "image": None, "animate": "animation.mp4", "export": "avatar.{format}"}


@dataclass(frozen=True)
class Job:
    index: int
    kind: str  # JOB_KINDS
    args: tuple[str, ...]  # argv after the command name, without -o
    output_name: str | None  # file name inside the job folder (None: the folder itself)
    gpu: bool  # ask Ray for a GPU

    @property
    def folder_name(self) -> str:
        return f"{self.index:04d}_{self.kind}"

    def argv(self, folder: Path) -> list[str]:
        out = folder if self.output_name is None else folder / self.output_name
        return [self.kind, *self.args, "-o", str(out)]


def _command(kind: str):
    import typer

    from kyara.cli.main import app

    return typer.main.get_command(app).commands[kind]  # type: ignore[attr-defined]


def _scalar(where: str, key: str, value) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        raise ValueError(f"{where}: '{key}' is {brief(value)}, expected a string or a number")
    if isinstance(value, float) and value != value:
        raise ValueError(f"{where}: '{key}' is NaN, expected a number")
    return str(value)


def _job(index: int, item) -> Job:
    """One item of ``jobs:`` -> a checked :class:`Job` (its argv parsed by the command itself)."""
    where = f"job {index}"
    if not isinstance(item, dict) or len(item) != 1:
        raise ValueError(f"{where}: expected one mapping {{create|image|animate|export: {{arguments}}}}, got "
                         f"{type(item).__name__ if not isinstance(item, dict) else f'{len(item)} keys'}")
    kind, args = next(iter(item.items()))
    if kind not in JOB_KINDS:
        raise ValueError(f"{where}: unknown kind '{kind}', expected one of {', '.join(JOB_KINDS)}")
    at = f"{where} ({kind})"
    args = {} if args is None else args
    if not isinstance(args, dict):
        raise ValueError(f"{at}: arguments are a {type(args).__name__}, expected a mapping of options")
    cmd = _command(kind)
    options, positional = {}, {}
    for p in cmd.params:
        if getattr(p, "param_type_name", "") == "argument":
            positional[p.name] = p
        else:
            for o in list(p.opts) + list(getattr(p, "secondary_opts", [])):
                if o.startswith("--"):
                    options[o[2:]] = p
    argv: list[str] = []
    pos: list[str] = []
    output_name = DEFAULT_OUTPUT[kind]
    for raw_key, value in args.items():
        if not isinstance(raw_key, str):
            raise ValueError(f"{at}: option {brief(raw_key)} is not a name")
        key = raw_key.strip().lstrip("-").replace("_", "-")
        if key in ("output", "o"):
            name = _scalar(at, raw_key, value)
            if kind == "create" or os.path.basename(name) != name or name in ("", ".", ".."):
                raise ValueError(f"{at}: 'output' '{name}' is not allowed, expected "
                                 + ("nothing: create writes the job folder" if kind == "create"
                                    else "a file name (jobs write into DIR/<index>_<kind>/)"))
            output_name = name
            continue
        if key.replace("-", "_") in positional:
            pos.append(_scalar(at, raw_key, value))
            continue
        p = options.get(key)
        if p is None:
            known = sorted(set(options) - {"output"}) + sorted(positional)
            hint = ", ".join(known) if len(known) <= 16 else f"an option of `kyara {kind} --help`"
            raise ValueError(f"{at}: unknown option '{raw_key}', expected {hint}")
        if getattr(p, "is_flag", False) and not getattr(p, "multiple", False):
            if not isinstance(value, bool):
                raise ValueError(f"{at}: '{raw_key}' is {brief(value)}, expected true or false")
            if p.secondary_opts:  # --x/--no-x
                argv.append(p.opts[0] if value else p.secondary_opts[0])
            elif value:
                argv.append(f"--{key}")
            continue
        values = value if isinstance(value, list) and getattr(p, "multiple", False) else [value]
        for v in values:
            argv += [f"--{key}", _scalar(at, raw_key, v)]
    if output_name is not None and "{format}" in output_name:
        fmt = next((argv[i + 1] for i in range(len(argv) - 1) if argv[i] in ("--format", "-f")), "glb")
        output_name = output_name.format(format=fmt.lower())
    full = pos + argv
    probe = [*full, "-o", "probe-output"]
    try:  # the command's own parser checks types, choices and required options (nothing runs)
        cmd.make_context(f"kyara {kind}", list(probe), resilient_parsing=False)
    except Exception as exc:  # click's UsageError/BadParameter (vendored by typer): one line
        msg = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        raise ValueError(f"{at}: {' '.join(str(msg).split())}") from None
    device = next((full[i + 1] for i in range(len(full) - 1) if full[i] == "--device"), "auto")
    return Job(index, kind, tuple(full), output_name, kind == "image" and device.strip().lower().startswith("cuda"))


def load_jobs(path: str | os.PathLike) -> list[Job]:
    """Read and check a job file (YAML, at most 1 MB and 10,000 jobs); ``ValueError`` with one line
    naming the job at fault."""
    from kyara.fileio import load_yaml

    p = Path(path)
    data = load_yaml(p, "job file", max_bytes=MAX_JOB_FILE_BYTES)
    if not isinstance(data, dict) or "jobs" not in data:
        raise ValueError(f"job file '{p}' has no 'jobs:' list at the top")
    extra = sorted(str(k) for k in data if k != "jobs")
    if extra:
        raise ValueError(f"job file '{p}' has unknown top-level keys {extra}, expected only 'jobs'")
    items = data["jobs"]
    if not isinstance(items, list) or not items:
        raise ValueError(f"job file '{p}': 'jobs' is {'empty' if items == [] else type(items).__name__}, "
                         "expected a non-empty list")
    if len(items) > MAX_JOBS:
        raise ValueError(f"job file '{p}' has {len(items)} jobs, expected at most {MAX_JOBS}")
    return [_job(i, item) for i, item in enumerate(items)]


# -- running ----------------------------------------------------------------------------------
@dataclass
class JobResult:
    job: Job
    status: str  # "ok", "failed", "skipped"
    code: int = 0
    seconds: float = 0.0
    message: str = ""  # the command's last output line
    gpus: list = field(default_factory=list)


def _done_record(job: Job, folder: Path) -> dict:
    return {"kind": job.kind, "argv": job.argv(folder)}


def is_done(job: Job, folder: Path) -> bool:
    """The job finished in an earlier run with the same arguments."""
    try:
        old = json.loads((folder / DONE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(old, dict) and {k: old.get(k) for k in ("kind", "argv")} == _done_record(job, folder)


def run_job(job: Job, folder: str, cwd: str) -> tuple[int, float, str, list]:
    """Run one job in this process (what a Ray task runs): ``(exit code, seconds, last line, GPU ids)``."""
    import contextlib
    import io

    from kyara.cli.main import run
    from kyara.fileio import write_text_atomic

    d = Path(folder)
    d.mkdir(parents=True, exist_ok=True)
    gpus: list = []
    try:
        import ray

        if ray.is_initialized():
            gpus = [str(g) for g in ray.get_runtime_context().get_accelerator_ids().get("GPU", [])]
    except ImportError:
        pass
    argv = job.argv(d)
    buf = io.StringIO()
    t = time.perf_counter()
    old = os.getcwd()
    try:
        if os.path.isdir(cwd):  # relative paths of the job file; a cluster node may not have that folder
            os.chdir(cwd)
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            code = run(argv)
    finally:
        os.chdir(old)
    dt = time.perf_counter() - t
    text = buf.getvalue()
    (d / LOG).write_text(f"$ kyara {' '.join(argv)}\n{text}exit code {code}\n", encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if code == 0:
        write_text_atomic(d / DONE, json.dumps({**_done_record(job, d), "seconds": round(dt, 3)}, indent=1) + "\n")
    return int(code), dt, (lines[-1] if lines else ""), gpus


def run_batch(jobs: list[Job], out_dir: str | os.PathLike, job_file_dir: str | os.PathLike, *,
              ray_address: str | None = None, workers: int | None = None,
              report: Callable[[JobResult, int, int], None] | None = None, progress: bool | None = None
              ) -> list[JobResult]:
    """Run ``jobs`` into ``out_dir`` on Ray (``ray_address`` or a local instance); ``report`` is
    called once per job as it ends. Jobs already done (``done.json``, same arguments) are skipped."""
    from kyara.dataset.engine import _progress
    from kyara.errors import require_extra
    from kyara.fileio import check_output_dir

    d = check_output_dir(out_dir)
    require_extra(("ray",), "kyara batch", "dataset", "ray")
    cwd = str(Path(job_file_dir).resolve())
    results: list[JobResult] = []
    total = len(jobs)
    say = report or (lambda r, n, t: None)
    d.mkdir(exist_ok=True)
    todo = []
    for job in jobs:
        folder = d / job.folder_name
        if is_done(job, folder):
            results.append(JobResult(job, "skipped", message="done in an earlier run"))
            say(results[-1], len(results), total)
        else:
            todo.append(job)
    if not todo:
        return results
    from kyara.dataset.engine import init_ray

    ray = init_ray(ray_address, workers, log_to_driver=False)
    bar = _progress(len(todo), progress)
    try:
        remote = ray.remote(max_retries=1)(run_job)
        pending = {}
        for job in todo:
            opts = {"num_cpus": 1, "num_gpus": 1 if job.gpu else 0, "name": f"kyara_batch_{job.folder_name}"}
            pending[remote.options(**opts).remote(job, str(d.resolve() / job.folder_name), cwd)] = job
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            job = pending.pop(ready[0])
            try:
                code, dt, last, gpus = ray.get(ready[0])
                res = JobResult(job, "ok" if code == 0 else "failed", code, dt, last, gpus)
            except ray.exceptions.RayError as exc:  # the worker died twice, or the task could not run
                res = JobResult(job, "failed", 1, 0.0, f"worker failed: {type(exc).__name__}")
            results.append(res)
            bar(1)
            say(res, len(results), total)
        bar(0, close=True)
    finally:
        ray.shutdown()
    return sorted(results, key=lambda r: r.job.index)
