"""``kyara batch``: job files are checked whole before anything runs (bad ones: one ``error:`` line,
exit 2, nothing written); jobs run on a real Ray cluster, GPU jobs ask for a GPU, a failed job
does not stop the others, and a rerun skips the jobs already done."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from kyara.cli.main import run

# bad job files: (name, file content (str or bytes), regex the error line must match). Each ends as
# one `error:` line, exit 2, nothing written. Reused by tests/test_malformed_corpus.py.
BAD_JOB_FILES = [
    ("not-yaml", "jobs: [create: {prompt: 'a girl'\n", r"not valid YAML"),
    ("not-utf8", b"jobs:\n  - create: {prompt: \xff\xfe}\n", r"not UTF-8"),
    ("no-jobs-key", "tasks:\n  - create: {prompt: a girl}\n", r"has no 'jobs:' list"),
    ("extra-top-key", "jobs:\n  - create: {prompt: a girl}\nworkers: 4\n", r"unknown top-level keys \['workers'\]"),
    ("jobs-not-a-list", "jobs: {create: {prompt: a girl}}\n", r"expected a non-empty list"),
    ("jobs-empty", "jobs: []\n", r"'jobs' is empty"),
    ("unknown-kind", "jobs:\n  - render: {pose: stand}\n", r"job 0: unknown kind 'render'"),
    ("two-kinds-in-one-item", "jobs:\n  - {create: {prompt: a}, export: {format: vrm}}\n", r"job 0: expected one mapping"),
    ("item-not-a-mapping", "jobs:\n  - create\n", r"job 0: expected one mapping"),
    ("arguments-not-a-mapping", "jobs:\n  - create: [a girl]\n", r"job 0 \(create\): arguments are a list"),
    ("unknown-option", "jobs:\n  - create: {prompt: a girl, colour: red}\n", r"job 0 \(create\): unknown option 'colour'"),
    ("bad-number", "jobs:\n  - animate: {motion: walk, fps: fast}\n", r"job 0 \(animate\): .*fps"),
    ("flag-not-bool", "jobs:\n  - image: {prompt: x, model: tiny, offload: 'yes'}\n",
     r"job 0 \(image\): 'offload' is 'yes', expected true or false"),
    ("value-is-mapping", "jobs:\n  - create: {prompt: {text: a girl}}\n", r"job 0 \(create\): 'prompt' is .*expected a string"),
    ("list-for-single-option", "jobs:\n  - animate: {motion: [walk, jog]}\n", r"job 0 \(animate\): 'motion' is"),
    ("output-escapes-folder", "jobs:\n  - export: {prompt: a boy, format: vrm, output: ../evil.vrm}\n",
     r"job 0 \(export\): 'output' '../evil.vrm' is not allowed"),
    ("create-output", "jobs:\n  - create: {prompt: a boy, output: here}\n", r"job 0 \(create\): 'output' 'here' is not allowed"),
    ("second-job-missing-option", "jobs:\n  - create: {prompt: a girl}\n  - export: {prompt: a boy}\n",
     r"job 1 \(export\): .*--format"),
    ("too-large", "jobs:\n  - create: {prompt: a girl}\n" + "# padding\n" * 120_000, r"bytes, expected at most 1000000"),
]

BAD_BATCH_ARGS = [  # (name, argv after `kyara` with {jobs} a valid job file and {tmp} a scratch folder, regex)
    ("missing-job-file", ["batch", "{tmp}/none.yaml", "-o", "{tmp}/out"], r"job file .* does not exist"),
    ("workers-zero", ["batch", "{jobs}", "-o", "{tmp}/out", "--workers", "0"], r"--workers 0 is out of range"),
    ("ray-blank", ["batch", "{jobs}", "-o", "{tmp}/out", "--ray", " "], r"--ray ' ' is not valid"),
    ("workers-with-ray", ["batch", "{jobs}", "-o", "{tmp}/out", "--ray", "auto", "--workers", "2"], r"--workers"),
    ("output-parent-missing", ["batch", "{jobs}", "-o", "{tmp}/no/such/out"], r"does not exist"),
]


def _files(d: Path) -> list[str]:
    return sorted(str(p.relative_to(d)) for p in d.rglob("*"))


@pytest.mark.parametrize("name,content,needle", BAD_JOB_FILES, ids=[c[0] for c in BAD_JOB_FILES])
def test_bad_job_file_one_line_exit_2_nothing_written(tmp_path, capsys, name, content, needle):
    f = tmp_path / "jobs.yaml"
    f.write_bytes(content if isinstance(content, bytes) else content.encode())
    before = _files(tmp_path)
    code = run(["batch", str(f), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, err
    assert len(err) == 1 and err[0].startswith("error: ") and re.search(needle, err[0]), err
    assert _files(tmp_path) == before


@pytest.mark.parametrize("name,args,needle", BAD_BATCH_ARGS, ids=[c[0] for c in BAD_BATCH_ARGS])
def test_bad_batch_arguments(tmp_path, capsys, name, args, needle):
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text("jobs:\n  - animate: {motion: walk}\n")
    before = _files(tmp_path)
    code = run([a.replace("{tmp}", str(tmp_path)).replace("{jobs}", str(jobs)) for a in args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and re.search(needle, err[0]), err
    assert _files(tmp_path) == before


def test_job_file_becomes_the_commands_own_argv(tmp_path):
    from kyara.dataset.batch import load_jobs

    f = tmp_path / "jobs.yaml"
    f.write_text(
        "jobs:\n"
        "  - create: {prompt: a girl in a kimono, seed: 3, size: 256}\n"
        "  - image: {prompt: 1girl, model: tiny, lora: [a.safetensors, 'b.safetensors:0.5'], offload: true,\n"
        "            control_strength: '0.8', device: cuda}\n"
        "  - animate: {motion: walk, --body: chibi, output: walk.gif}\n"
        "  - export: {spec: hero.json, format: VRM, base: false}\n")
    jobs = load_jobs(f)
    out = tmp_path / "out"
    argv = [j.argv(out / j.folder_name) for j in jobs]
    assert [j.folder_name for j in jobs] == ["0000_create", "0001_image", "0002_animate", "0003_export"]
    assert argv[0] == ["create", "a girl in a kimono", "--seed", "3", "--size", "256", "-o", str(out / "0000_create")]
    assert argv[1] == ["image", "1girl", "--model", "tiny", "--lora", "a.safetensors", "--lora", "b.safetensors:0.5",
                       "--offload", "--control-strength", "0.8", "--device", "cuda", "-o", str(out / "0001_image")]
    assert argv[2] == ["animate", "--motion", "walk", "--body", "chibi", "-o", str(out / "0002_animate" / "walk.gif")]
    assert argv[3] == ["export", "hero.json", "--format", "VRM", "--no-base", "-o", str(out / "0003_export" / "avatar.vrm")]
    assert [j.gpu for j in jobs] == [False, True, False, False]  # an image job on cuda asks Ray for a GPU


@pytest.fixture(scope="module")
def gpu_cluster():
    from test_dataset import LocalCluster

    c = LocalCluster(nodes=1, gpus=1)  # a CPU machine that says it has one GPU (`ray start --num-gpus 1`)
    yield c
    c.stop()


@pytest.mark.slow
def test_batch_on_ray_failed_job_does_not_stop_others_and_rerun_skips_done(gpu_cluster, tmp_path):
    from test_dataset import KYARA

    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(
        "jobs:\n"
        "  - animate: {motion: walk, body: chibi, size: 32, fps: 2, output: walk.gif}\n"
        "  - export: {spec: missing.json, format: vrm}\n"
        # this machine has no CUDA: the image job fails its own check at once (steps 0); what matters
        # is that Ray scheduled it with a GPU
        "  - image: {prompt: 1girl, model: tiny, device: cuda, steps: 0, size: 64}\n")
    out = tmp_path / "out"
    cmd = [str(KYARA), "batch", str(jobs), "-o", str(out), "--ray", gpu_cluster.address]
    r = subprocess.run(cmd, env=gpu_cluster.env, capture_output=True, text=True, timeout=400)
    assert r.returncode == 1, r.stdout + r.stderr[-2000:]  # one job failed: exit 1 at the end
    lines = {ln.split()[1]: ln for ln in r.stdout.splitlines() if ln.startswith("[")}
    assert len(lines) == 3, r.stdout
    assert " ok " in lines["0000_animate"] and "walk.gif" in lines["0000_animate"]
    assert "FAILED (exit 2)" in lines["0001_export"] and "missing.json" in lines["0001_export"]
    assert "[gpu " in lines["0002_image"]  # Ray gave the cuda job a GPU
    assert "[gpu " not in lines["0000_animate"]
    assert r.stdout.strip().splitlines()[-1].startswith("batch: ")
    assert (out / "0000_animate" / "walk.gif").stat().st_size > 0 and (out / "0000_animate" / "done.json").exists()
    assert "missing.json" in (out / "0001_export" / "job.log").read_text()
    assert not (out / "0001_export" / "done.json").exists()
    gif = (out / "0000_animate" / "walk.gif").stat().st_mtime_ns
    r2 = subprocess.run(cmd, env=gpu_cluster.env, capture_output=True, text=True, timeout=400)
    assert r2.returncode == 1
    lines2 = {ln.split()[1]: ln for ln in r2.stdout.splitlines() if ln.startswith("[")}
    assert "skipped" in lines2["0000_animate"] and "FAILED" in lines2["0001_export"]
    assert (out / "0000_animate" / "walk.gif").stat().st_mtime_ns == gif  # a done job is not run again
