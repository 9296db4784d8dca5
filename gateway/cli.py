"""The `mashup` command: start the mesh, make a mashup from files, or run the demo.

    mashup up                      start all six services and wait (Ctrl-C stops them)
    mashup create A B -o out.wav   upload songs, start a job, show progress, download
    mashup demo                    synthesise two demo songs and mash them up
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from shared.settings import service_url

BAR_WIDTH = 30
REVIVE_POLL_SEC = 1.0  # how often `mashup up` looks for services that died


class CliError(RuntimeError):
    pass


def _check(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 400:
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = response.text[:300]
        raise CliError(f"{response.request.method} {response.request.url.path} → "
                       f"{response.status_code}: {message}")
    return response.json()


def _progress_line(state: dict[str, Any]) -> str:
    filled = int(BAR_WIDTH * state.get("progress", 0) / 100)
    bar = "#" * filled + "-" * (BAR_WIDTH - filled)
    return f"[{bar}] {state.get('progress', 0):5.1f}%  {state.get('currentStep', '')[:48]:<48}"


class _ProgressPrinter:
    """On a terminal, one bar redrawn in place; elsewhere (a log, a pipe) one line per
    change of step, so a log does not fill with a redrawn bar every poll."""

    def __init__(self) -> None:
        self.in_place = sys.stdout.isatty()
        self.last = ""

    def show(self, state: dict[str, Any]) -> None:
        line = _progress_line(state)
        if self.in_place:
            print("\r" + line, end="", flush=True)
        elif line != self.last:
            print(line.rstrip(), flush=True)
        self.last = line

    def close(self) -> None:
        if self.in_place:
            print()


def create_mashup(gateway: str, files: list[Path], output: Path, *,
                  options: dict[str, Any] | None = None, timeout_sec: float = 1800.0,
                  quiet: bool = False) -> dict[str, Any]:
    """Upload `files`, run a job and download the result to `output`; returns the final
    JobState. Raises CliError with the job's error_message when it fails."""
    with httpx.Client(base_url=gateway, timeout=120.0) as client:
        songs = []
        for index, path in enumerate(files):
            with path.open("rb") as fh:
                uploaded = _check(client.post("/upload", files={"file": (path.name, fh)}))
            song_id = f"{index + 1}-{''.join(c for c in path.stem if c.isalnum())[:40] or 'song'}"
            songs.append({"id": song_id, "storage_path": uploaded["storage_path"],
                          "title": path.stem})
            if not quiet:
                print(f"uploaded {path.name} → {uploaded['storage_path']}")
        job = _check(client.post("/generate-mashup",
                                 json={"songs": songs, "options": options or {}}))
        job_id = job["jobId"]
        if not quiet:
            print(f"job {job_id}")
        deadline = time.monotonic() + timeout_sec
        state: dict[str, Any] = {}
        progress = _ProgressPrinter()
        while time.monotonic() < deadline:
            state = _check(client.get("/get-mashup-status", params={"jobId": job_id}))
            if not quiet:
                progress.show(state)
            if state["status"] != "processing":
                break
            time.sleep(max(0.2, (state.get("poll_after_ms") or 1000) / 1000))
        if not quiet:
            progress.close()
        if state.get("status") != "complete":
            raise CliError(f"job {job_id} {state.get('status', 'timed out')}: "
                           f"{state.get('error_message', 'no answer before the CLI timeout')}")
        output.parent.mkdir(parents=True, exist_ok=True)
        with client.stream("GET", state["result_url"]) as response:
            if response.status_code != 200:
                raise CliError(f"download failed with {response.status_code}")
            with output.open("wb") as fh:
                for chunk in response.iter_bytes():
                    fh.write(chunk)
        return state


def cmd_up(args: argparse.Namespace) -> int:
    from shared.mesh import Mesh

    mesh = Mesh(data_dir=args.data)
    try:  # SIGINT and SIGTERM (see main) unwind through here: the services stop too
        mesh.start()
        mesh.wait_healthy()
        for name in mesh.ports:
            print(f"{name:<13}{mesh.url(name)}")
        if not mesh.default_ports:
            print("the default ports are taken (another mesh running?): these are free "
                  "ports; pass `mashup create --gateway URL` to use this one")
        print("mesh is up; Ctrl-C stops it", flush=True)
        while True:  # a service that dies is started again (jobs resume; see Mesh.revive)
            for event in mesh.revive():
                print(event, flush=True)
            time.sleep(REVIVE_POLL_SEC)
    except KeyboardInterrupt:
        pass
    finally:
        mesh.stop()
    return 0


def cmd_create(args: argparse.Namespace) -> int:
    options: dict[str, Any] = {"format": args.format}
    if args.duration:
        options["duration_sec"] = args.duration
    if args.energy_curve:
        options["energy_curve"] = args.energy_curve
    if args.style:
        options["style_prompt"] = args.style
    state = create_mashup(args.gateway, [Path(f) for f in args.files], Path(args.output),
                          options=options)
    result = state.get("result", {})
    print(f"mashup: {Path(args.output).resolve()}  ({result.get('duration_sec', 0):.1f} s, "
          f"{result.get('lufs', 0):.1f} LUFS, true peak {result.get('true_peak_dbtp', 0):.1f} "
          f"dBTP, planner {state.get('planner')})")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from shared.audio_io import encode_audio
    from shared.mesh import Mesh
    from shared.synth import demo_songs

    data_dir = Path(args.data).resolve()
    song_dir = data_dir / "demo-songs"
    song_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for song in demo_songs():
        path = song_dir / f"{song.spec.name}.wav"
        path.write_bytes(encode_audio(song.mix, sample_rate_hz=song.sample_rate_hz, fmt="wav"))
        files.append(path)
        print(f"synthesised {path} ({song.spec.tempo_bpm:g} BPM, {song.truth.key})")
    started = time.monotonic()
    with Mesh(data_dir=data_dir) as mesh:
        print(f"mesh up in {time.monotonic() - started:.1f} s (gateway {mesh.url('gateway')})")
        output = Path(args.output).resolve()
        state = create_mashup(mesh.url("gateway"), files, output,
                              options={"format": "wav", "duration_sec": args.duration})
    result = state.get("result", {})
    print(f"planner: {state.get('planner')}; {result.get('duration_sec', 0):.1f} s, "
          f"{result.get('lufs', 0):.1f} LUFS, true peak {result.get('true_peak_dbtp', 0):.2f} dBTP")
    print(f"Your mashup is at: {output}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mashup", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the mesh")
    up.add_argument("--data", default="data", help="folder for storage, job DB and logs")
    up.set_defaults(func=cmd_up)
    create = sub.add_parser("create", help="mash up two or more audio files")
    create.add_argument("files", nargs="+", help="two or more audio files")
    create.add_argument("-o", "--output", default="mashup.wav")
    create.add_argument("--gateway", default=service_url("gateway"))
    create.add_argument("--format", default="wav", choices=["wav", "flac", "mp3"])
    create.add_argument("--duration", type=float, help="target length in seconds")
    create.add_argument("--energy-curve", help="build, wave, double-peak, ...")
    create.add_argument("--style", help="a style prompt for the planner")
    create.set_defaults(func=cmd_create)
    demo = sub.add_parser("demo", help="synthesise two songs and mash them up")
    demo.add_argument("--data", default="data/demo", help="folder for the demo mesh's data")
    demo.add_argument("-o", "--output", default="out/demo_mashup.wav")
    demo.add_argument("--duration", type=float, default=60.0)
    demo.set_defaults(func=cmd_demo)
    return parser


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # A SIGTERM (a service manager, `kill`) unwinds like Ctrl-C, so `up` and `demo` stop
    # the services they started instead of leaving them on the mesh's ports.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
    if args.command == "create" and len(args.files) < 2:
        print("mashup create needs at least two files", file=sys.stderr)
        return 2
    try:
        return int(args.func(args))
    except CliError as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
