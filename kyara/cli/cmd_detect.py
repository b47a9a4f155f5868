"""``kyara detect IMAGE``: pose (COCO-18, hands, face), mask and UDP of the character in an image.

Writes ``openpose.json``, ``openpose.png``, ``mask.png`` and, with the kyara backend, ``udp.npz``
into the ``-o`` folder (see docs/detect.md). The backend name, the output folder and the image are
checked before any model loads; a bad one ends as one ``error: ...`` line, exit code 2, nothing
written.
"""

from __future__ import annotations

import typer

OPENPOSE_STYLES = ("classic", "xinsir")


def register(app: typer.Typer) -> None:
    @app.command("detect")
    def detect_cmd(
        image: str = typer.Argument(..., help="PNG, JPEG, WebP, BMP, GIF (first frame) or TIFF image"),
        output: str = typer.Option(..., "-o", "--output", help="output folder (created; its parent must exist)"),
        backend: str = typer.Option("auto", "--backend", help="auto (photos: mediapipe, drawings and renders: "
                                                              "kyara; see docs/detect.md), mediapipe or kyara"),
        openpose_style: str = typer.Option("classic", "--openpose-style",
                                           help="openpose.png: classic (ControlNet 1.1) or xinsir (thick lines, SDXL)"),
    ) -> None:
        """Detect the character's pose, mask and (kyara backend) UDP; write them as files."""
        from kyara.detect import BACKENDS, detect
        from kyara.detect.io import read_image, write_detection
        from kyara.fileio import check_output_dir

        if backend not in BACKENDS:
            raise ValueError(f"--backend '{backend}' is unknown, expected one of {', '.join(BACKENDS)}")
        if openpose_style not in OPENPOSE_STYLES:
            raise ValueError(f"--openpose-style '{openpose_style}' is unknown, expected classic or xinsir")
        check_output_dir(output)
        rgb, notes = read_image(image, "image")
        if backend == "mediapipe":
            from kyara.detect.mediapipe_backend import available, missing_error

            if not available():
                raise missing_error()
        for note in notes:
            typer.echo(f"note: {note}", err=True)
        det = detect(rgb, backend)
        found = int((det.keypoints[:, 2] > 0).sum())
        paths = write_detection(det, output, openpose_style=openpose_style)
        why = f" ({det.reason})" if det.reason else ""
        typer.echo(f"backend {det.backend}{why}: {found} of 18 body joints found")
        for p in paths:
            typer.echo(f"wrote {p}")
