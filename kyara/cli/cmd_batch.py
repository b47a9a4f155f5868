"""``kyara batch JOBS.yaml -o DIR``: many create/image/animate/export jobs on Ray.

The whole job file is checked before Ray starts (a bad file: one ``error:`` line naming the job,
exit 2, nothing written). Then one summary line per job as it ends; a failed job does not stop
the others, and the exit code is 1 when any job failed. Rerunning skips the jobs already done.
See :mod:`kyara.dataset.batch` for the file format.
"""

from __future__ import annotations

from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("batch")
    def batch_cmd(
        jobs_file: str = typer.Argument(..., metavar="JOBS", help="YAML file: jobs: [{create|image|animate|export: {...}}]"),
        output: str = typer.Option(..., "-o", "--output", help="output folder; job i writes DIR/<i>_<kind>/"),
        ray_address: Optional[str] = typer.Option(None, "--ray", help="join this Ray cluster (host:port or auto); "
                                                                        "default: start a local instance"),
        workers: Optional[int] = typer.Option(None, "--workers", help="CPUs of the local Ray instance"),
    ) -> None:
        """Run many jobs (create, image, animate, export) through Ray, with resume."""
        from pathlib import Path

        from kyara.dataset.batch import load_jobs, run_batch
        from kyara.errors import require_extra
        from kyara.fileio import check_output_dir

        from kyara.dataset.config import check_ray_options

        check_ray_options(ray_address, workers)
        jobs = load_jobs(jobs_file)
        out = check_output_dir(output)
        require_extra(("ray",), "kyara batch", "dataset", "ray")

        def report(res, n: int, total: int) -> None:
            what = {"ok": "ok", "failed": f"FAILED (exit {res.code})", "skipped": "skipped"}[res.status]
            gpu = f" [gpu {','.join(res.gpus)}]" if res.gpus else ""
            msg = f": {res.message}" if res.message else ""
            typer.echo(f"[{n}/{total}] {res.job.folder_name} {what} {res.seconds:.1f} s{gpu}{msg}")

        results = run_batch(jobs, out, Path(jobs_file).parent, ray_address=ray_address, workers=workers,
                            report=report)
        failed = [r for r in results if r.status == "failed"]
        done = sum(r.status == "ok" for r in results)
        skipped = sum(r.status == "skipped" for r in results)
        typer.echo(f"batch: {done} ok, {skipped} skipped, {len(failed)} failed of {len(results)} jobs in {out}")
        if failed:
            raise typer.Exit(1)
