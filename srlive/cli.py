"""`srlive`: the command performers run.

    srlive --demo                                   # answer the shipped take offline → answer.mid
    srlive --in "IAC Bus 1" --out "IAC Bus 2" --tempo 110
    srlive --in take.mid --out answer.mid          # file mode
    srlive --preset jam --in "IAC Bus 1"
    srlive --list-ports | --bench [--json]
    srlive --calibrate --in X --out Y               # round trip Y -> X: the --offset to use

Options come from srlive.options (the same table the presets use). Heavy modules (numpy, mido,
onnxruntime, rtmidi) are imported only after the command line is parsed, so --help is instant.
Every user mistake is one line on stderr, ``srlive: ...`` naming the fix, and exit code 2.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time

from srlive import meter as meters
from srlive import options
from srlive.contract import DEFAULT_TEMPERATURE, DEFAULT_TEMPO
from srlive.errors import UserError
from srlive.live import memlock

SWITCH_INTERVAL = 0.0005  # seconds: how long a thread may hold the GIL while the scheduler waits for it


def say(message: str) -> None:
    print(f"srlive: {message}", file=sys.stderr, flush=True)


def settings_from(cfg: dict, runtime=None, input_latency: float | None = None, input_cycle: float = 0.0,
                  offset: float | None = None):
    """The engine's Settings, built once, from resolved options (1-based channels → 0-based) with
    the model's own defaults filled in where an option was left unset: its temperature, its
    number of candidates, and its selection weights under --selection's changes. ``input_latency``
    and ``input_cycle`` are the backend's (input_latency_of, input_cycle_of); file mode gives 0
    for them and for ``offset`` (a take has no ports)."""
    from srlive.settings import Settings

    temperature = cfg["temperature"]
    if temperature is None:
        temperature = runtime.temperature if runtime is not None else DEFAULT_TEMPERATURE
    candidates = cfg["candidates"]
    if candidates is None and runtime is not None:
        candidates = runtime.candidates
    if input_latency is None:
        input_latency = (cfg["input-latency"] or 0.0) / 1000.0  # "auto" is the backend's (input_latency_of)
    return Settings(
        mode=cfg["mode"], tempo=cfg["tempo"] or DEFAULT_TEMPO, sync=cfg["sync"] or cfg["link"], link=cfg["link"], count_in=cfg["count-in"],
        follow=cfg["follow"], tempo_known=cfg["tempo"] is not None,
        metronome=cfg["metronome"], metronome_channel=cfg["metronome-channel"] - 1,
        temperature=temperature,
        threshold=cfg["threshold"],
        velocity=cfg["velocity"],
        transpose=cfg["transpose"], channel=cfg["channel"] - 1,
        in_channel=None if cfg["in-channel"] is None else cfg["in-channel"] - 1, thru=cfg["thru"],
        seed=cfg["seed"], bars=cfg["bars"], max_late=cfg["max-late"] / 1000.0,
        allow_feedback=cfg["allow-feedback"], cc=dict(cfg["cc"]),
        scale=options.convert("scale", cfg["scale"], "--scale"),  # the default "off" comes unconverted
        candidates=candidates, selection=_weights(cfg["selection"], getattr(runtime, "selection", None)),
        offset=cfg["offset"] / 1000.0 if offset is None else offset, input_latency=input_latency,
        input_cycle=input_cycle,
        meter=meters.named(cfg["meter"]),
    )


def _weights(selection, base=None):
    """--selection's changes laid over ``base``: the model's weights, else the default ones."""
    if selection is None or not isinstance(selection, dict):
        return selection
    from srlive.model.selection import parse_weights

    return parse_weights(selection, base=base)


def input_latency_of(cfg: dict, backend: str) -> float:
    """Seconds the input path adds: --input-latency when given, else the backend's own estimate
    (JACK: half a period, srlive.ports.jack_input_delay), else 0."""
    if cfg["input-latency"] is not None:
        return cfg["input-latency"] / 1000.0
    if backend == "jack":
        from srlive.ports import jack_input_delay

        return jack_input_delay()
    return 0.0


def input_cycle_of(backend: str) -> float:
    """Seconds between the times input is stamped at: python-rtmidi stamps JACK input once a
    process cycle (srlive.ports.jack_period); 0 elsewhere (stamped on arrival)."""
    if backend == "jack":
        from srlive.ports import jack_period

        return jack_period() or 0.0
    return 0.0


def load_model(cfg: dict):
    """The model, warmed up: --model, else the one shipped for the meter's bars; one line when its
    bars are not the meter's length. The options are left as they are: settings_from fills in the
    model's own defaults."""
    from srlive.model.runtime import load_runtime

    meter = meters.named(cfg["meter"])
    rt = load_runtime(meters.model_path(cfg["model"], meter), cfg["device"])
    meters.check_model(rt, meter)
    rt.warmup()
    return rt


def say_device(runtime) -> None:
    """The CUDA libraries loaded, or why "auto" runs on the CPU: said once, when the run is under
    way (a mistake found before then stays the one line on stderr)."""
    if getattr(runtime, "device_note", None):
        say(runtime.device_note)


def make_stats(cfg: dict, notes: list[str]):
    """The --stats collector, its file claimed (a move to a free name is added to ``notes``)."""
    if not cfg["stats"]:
        return None
    from srlive.takes.recorder import check_writable
    from srlive.takes.stats import Stats
    from srlive.takes.takepath import claim

    cfg["stats"] = str(claim(check_writable(cfg["stats"]), cfg["overwrite"], "writing the stats to", notes.append))
    st = Stats()
    st.meta = {"mode": cfg["mode"], "tempo": cfg["tempo"], "sync": cfg["sync"], "follow": cfg["follow"],
               "max_late_ms": cfg["max-late"],
               "offset_ms": cfg["offset"], "meter": meters.named(cfg["meter"]).name}
    return st


def seed_roll_of(cfg: dict):
    if not cfg["seed-file"]:
        return None
    from srlive.takes.filemode import seed_roll

    return seed_roll(cfg["seed-file"], cfg["tempo"], meters.named(cfg["meter"]))


# --- file mode -----------------------------------------------------------------------------------
def run_file_mode(cfg: dict, take, out, tempo_given: bool, meter_given: bool = False) -> int:
    """Answer a take offline. Its tempo is the file's unless --tempo was given on the command line
    (a preset's tempo is for live sessions: re-barring a take at another tempo would misplace it);
    its meter likewise the file's time signature unless --meter was given (then a preset's, else 4/4)."""
    from srlive.takes.filemode import read_take, run_file, take_meter
    from srlive.takes.recorder import check_writable
    from srlive.takes.takepath import claim

    take = read_take(take)
    meter = meters.named(cfg["meter"])
    cfg["meter"] = take_meter(take, meter if meter_given else None, meter).name
    notes: list[str] = []  # said once the answer is made, so a mistake found first stays one line
    out = claim(check_writable(out), cfg["overwrite"], "writing the answer to", notes.append)
    stats = make_stats(cfg, notes)
    seed = seed_roll_of(cfg)
    runtime = load_model(cfg)
    t0 = time.perf_counter()
    # a take has no ports: no input path to take off, nothing to send early
    offline = settings_from(cfg, runtime, input_latency=0.0, offset=0.0)
    res = run_file(take, out, runtime, offline, stats=stats, seed=seed,
                   tempo_given=tempo_given, overwrite=cfg["overwrite"], log=say)
    say_device(runtime)
    for note in notes:
        say(note)
    if stats is not None:
        stats.meta["tempo"] = res.tempo
        stats.write(cfg["stats"])
    print(f"srlive: wrote {res.out} — {res.summary()}; took {time.perf_counter() - t0:.2f} s")
    return 0


# --- live ----------------------------------------------------------------------------------------
@dataclasses.dataclass
class LiveRun:
    """What a live run holds from setup to teardown."""

    cfg: dict
    settings: object  # srlive.settings.Settings, built once with the model's defaults and the backend's input
    runtime: object
    backend: str
    recorder: object = None
    stats: object = None
    seed: object = None
    notes: list = dataclasses.field(default_factory=list)  # said when the run is under way (a mistake stays one line)
    t_start: float = 0.0
    output: object = None
    inp: object = None
    view: object = None
    engine: object = None
    locked: bool = False
    opening: object = None  # the output being opened (start_output), from setup on
    sender: object = None  # srlive.live.sender.SenderProcess (None: SRLIVE_SENDER=thread)
    watch: object = None  # srlive.ports.watch.PortWatch


def check_live(cfg: dict) -> None:
    """The live run's mistakes that need no port or model, each one line."""
    if cfg["link"] and cfg["sync"]:
        raise UserError("--link and --sync are two clocks: choose one")
    if cfg["follow"] and (cfg["sync"] or cfg["link"]):
        other = "--sync" if cfg["sync"] else "--link"
        raise UserError(f"--follow and {other} are two clocks (yours, the {'DAW' if cfg['sync'] else 'session'}'s): choose one")
    if cfg["link"]:
        from srlive.clocks.link import require

        require()
    in_name, out_name = cfg["in"], cfg["out"] or "srlive out"
    if in_name is None and cfg["mode"] != "solo" and not (cfg["sync"] or cfg["link"]):
        raise UserError("no input: give --in PORT (see srlive --list-ports), --in take.mid for file mode, "
                        "or --mode solo to play without one")
    if cfg["sync"] and in_name is None:
        raise UserError("--sync follows MIDI clock on the input: give --in PORT")
    if in_name is not None and in_name.strip().lower() == out_name.strip().lower() and not cfg["allow-feedback"]:
        raise UserError(f"--in and --out are the same port ('{in_name}'): srlive would hear itself; "
                        "choose two ports or add --allow-feedback")


class start_output:
    """The output being opened: in srlive.live.sender's process of its own (so input cannot delay output),
    started now, so that it starts while the model loads; calling it waits until the port is open and
    returns (the output, the sender process). With SRLIVE_SENDER=thread the port opens in this process
    and the scheduler runs as a thread (the way srlive sent before: kept to compare the two on one
    machine in one hour); the sender is then None."""

    def __init__(self, name: str, backend: str):
        import os

        self.name, self.backend, self.sender = name, backend, None
        if os.environ.get("SRLIVE_SENDER", "").strip().lower() != "thread":
            from srlive.live.sender import SenderProcess

            self.sender = SenderProcess(name, backend, client_name="srlive", realtime=True)

    def __call__(self):
        if self.sender is None:
            from srlive import ports

            return ports.open_output(self.name, backend=self.backend, client_name="srlive"), None
        self.sender.wait_ready()
        return self.sender, self.sender

    def cancel(self) -> None:
        """The run did not start (a mistake found meanwhile): the sender process goes."""
        if self.sender is not None:  # it has played nothing: no note to close
            self.sender.process.terminate()
            self.sender.process.join(1.0)


def watch_ports(engine, ports_open: list, backend: str):
    """srlive.ports.watch from now on: each port's news said as it comes, and a JACK server that stopped
    or dropped srlive's client ends the run in one line (engine.fail), whether a bar plays or not."""
    from srlive.ports.watch import JackGraphView, PortWatch

    graph = JackGraphView() if backend == "jack" else None
    return PortWatch(ports_open, log=engine.log, on_fatal=engine.fail, graph=graph).start()


def setup_live(cfg: dict) -> LiveRun:
    """Everything before a port opens here: the checks, the files claimed, the sender process started
    (it opens the output while the model loads), the model loaded and warmed up, and the Settings
    built once (the model's defaults, the backend's input path)."""
    from srlive import ports
    from srlive.takes.recorder import check_writable
    from srlive.takes.takepath import claim

    check_live(cfg)
    notes: list[str] = []
    take = claim(check_writable(cfg["record"]), cfg["overwrite"], "recording to", notes.append) if cfg["record"] else None
    stats = make_stats(cfg, notes)
    seed = seed_roll_of(cfg)
    t_start = time.perf_counter()
    backend = ports.resolve_backend(cfg["backend"])
    opening = start_output(cfg["out"] or "srlive out", backend)
    try:
        runtime = load_model(cfg)
    except BaseException:
        opening.cancel()
        raise
    settings = settings_from(cfg, runtime, input_latency=input_latency_of(cfg, backend), input_cycle=input_cycle_of(backend))
    recorder = None
    if take is not None:
        from srlive.takes.recorder import Recorder

        recorder = Recorder(take, settings.tempo, overwrite=cfg["overwrite"], log=say, meter=settings.meter)
    if stats is not None:
        stats.meta["input_latency_ms"] = round(settings.input_latency * 1000, 3)
    return LiveRun(cfg, settings, runtime, backend, recorder=recorder, stats=stats, seed=seed, notes=notes,
                   t_start=t_start, opening=opening)


def open_live(run: LiveRun) -> None:
    """The ports, the view and the engine."""
    from srlive import ports
    from srlive.live.engine import Engine
    from srlive.live.intake import unused_input_types
    from srlive.ui.status import StatusLine
    from srlive.ui.view import terminal_view, view_wanted

    cfg, settings = run.cfg, run.settings
    run.output, run.sender = run.opening()
    if cfg["in"] is not None:
        run.inp = ports.open_input(cfg["in"], backend=run.backend, client_name="srlive")
        # what the engine ignores anyway, dropped before Python where the backend can (floods)
        run.inp.ignore(*unused_input_types(settings.sync))
        run.inp.only_channel(settings.in_channel)  # --in-channel: the others dropped unparsed too
    run.view = terminal_view(forced=cfg["view"] is True) if view_wanted(cfg["view"]) else None
    status = run.view if run.view is not None else StatusLine()  # the view prints the messages above its panel
    run.engine = Engine(run.runtime, settings, output=run.output, input=run.inp, recorder=run.recorder,
                        stats=run.stats, status=status, seed_roll=run.seed, realtime=True, view=run.view,
                        sender=run.sender)


def play_live(run: LiveRun) -> int:
    """Signals, memory kept in RAM, the ready line, then the engine plays until stopped."""
    import atexit
    import faulthandler
    import gc
    import signal

    from srlive import ports

    engine, settings = run.engine, run.settings

    def on_signal(signum, _frame):
        engine.stop()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    if hasattr(signal, "SIGUSR1"):  # `kill -USR1 PID`: every thread's stack on stderr (a session that hangs)
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    atexit.register(engine.shutdown)
    if run.inp is not None:
        run.inp.set_callback(engine.on_message)
    sys.setswitchinterval(SWITCH_INTERVAL)
    gc.collect()
    gc.freeze()  # what start-up made stays out of the collector: no long pauses mid-bar
    run.locked = memlock.lock_memory()  # no page of it is reclaimed between bars (srlive.live.memlock)
    if run.stats is not None:
        run.stats.meta["memory_locked"] = run.locked
    say_device(run.runtime)
    for note in run.notes:
        say(note)
    say(f"ready in {time.perf_counter() - run.t_start:.1f} s — {settings.mode} at {_how(settings)}, "
        f"in '{run.inp.name if run.inp else '-'}' → out '{run.output.name}' ({ports.describe_backend(run.backend)}), "
        f"model on {run.runtime.provider}; {_start(settings)} (Ctrl-C stops)")
    if run.view is not None:
        run.view.start()
    run.watch = watch_ports(engine, [run.inp, run.output], run.backend)
    engine.run()
    return 1 if engine.failed else 0  # srlive could no longer hear or play (engine.fail): said in one line


def _how(settings) -> str:
    """How the run keeps time, for the ready line."""
    how = "following MIDI clock" if settings.sync else f"{settings.tempo:g} BPM"
    if settings.follow:
        how = (f"following you from {settings.tempo:g} BPM" if settings.tempo_known or settings.count_in
               else "following you (the tempo of your first bar)")
    how = "on the Link session's clock" if settings.link else how
    if settings.meter.name != meters.named(None).name:
        how += f" in {settings.meter.name}"
    if settings.offset:
        how += f", sending {abs(settings.offset) * 1000:g} ms {'early' if settings.offset < 0 else 'late'}"
    return how


def _start(settings) -> str:
    """What starts the music, for the ready line."""
    if settings.sync:
        return "joining the Link session" if settings.link else "waiting for Start from the DAW"
    if settings.count_in:
        return f"{settings.count_in}-bar count-in"
    return {"solo": "playing", "accompany": "play to start", "call-response": "play to start"}[settings.mode]


def teardown_live(run: LiveRun) -> None:
    """Every port closed (the JACK watcher last), the terminal given back, the stats and the take
    written, however the run ended."""
    from srlive import ports

    if run.watch is not None:
        run.watch.stop()
    if run.locked:
        memlock.unlock_memory()
    if run.view is not None:
        run.view.close()  # the terminal back before the last messages
    if run.inp is not None:
        run.inp.set_callback(None)
        run.inp.close()
    if run.output is not None:
        run.output.close()
    elif run.opening is not None:
        run.opening.cancel()  # the sender started, its port never taken up
    ports.close_all()  # the JACK watcher last, while the interpreter is whole (docs/design.md)
    if run.stats is not None and run.engine is not None:
        try:
            run.stats.meta.update(tempo=run.engine.clock.tempo, skipped_bars=run.engine.skipped)
            followed = run.engine.clock.report()  # --follow: how it followed
            if followed is not None:
                run.stats.meta["clock"] = followed
            if run.settings.sync and not run.settings.link:
                clk = run.engine.clock
                run.stats.meta["clock"] = {"pulses": clk.next_pulse, "pulse_zero": clk.pulse_zero,
                                           "generation": clk.generation, "tempo": round(clk.tempo, 3),
                                           "renumbered": clk.renumbered}
            run.stats.write(run.cfg["stats"])
        except OSError as e:
            say(f"could not write --stats {run.cfg['stats']} ({e.strerror})")


def run_live(cfg: dict) -> int:
    """A live run: setup (no port yet), then the ports and the engine, play, teardown."""
    run = setup_live(cfg)
    try:
        open_live(run)
        code = play_live(run)
    finally:
        teardown_live(run)
    if run.recorder is not None:
        say(f"recorded {run.recorder.path}")
    return code


# --- entry point ---------------------------------------------------------------------------------
def run(argv=None) -> int:
    given = options.from_command_line(argv)
    if given.get("bench"):
        from srlive.model import bench

        model = meters.model_path(given.get("model"), meters.named(given.get("meter"))) \
            if given.get("model") or "meter" in given else None
        candidates = given.get("candidates")
        return bench.run(model_path=model, device=given.get("device", "auto"), as_json=given.get("json", False),
                         candidates=candidates if isinstance(candidates, int) else None)
    if given.get("list-ports"):
        from srlive import ports

        backend = ports.resolve_backend(given.get("backend", "auto"))
        ins, outs = ports.list_ports(backend)
        if given.get("json"):
            print(json.dumps({"backend": backend, "inputs": ins, "outputs": outs}))
        else:
            print(f"backend: {backend} ({ports.describe_backend(backend)})")
            print("inputs (srlive --in):  " + ("; ".join(ins) if ins else "none"))
            print("outputs (srlive --out): " + ("; ".join(outs) if outs else "none"))
        return 0
    preset = None
    if given.get("preset"):
        from srlive.preset_loader import load_preset

        preset = load_preset(given["preset"])
    cfg = options.resolve(given, preset)
    if given.get("calibrate"):
        from srlive.ports import calibrate

        return calibrate.run(cfg)
    if "demo" in given:
        from srlive.takes.filemode import example_take

        return run_file_mode(cfg, example_take(), given["demo"], "tempo" in given, "meter" in given)
    from srlive.takes.filemode import looks_like_midi_file

    if cfg["in"] is not None and looks_like_midi_file(cfg["in"]):
        return run_file_mode(cfg, cfg["in"], cfg["out"] or "answer.mid", "tempo" in given, "meter" in given)
    return run_live(cfg)


def main(argv=None) -> int:
    try:
        return run(argv)
    except UserError as e:  # ModelError, PortError, PresetError too
        say(str(e))
        return 2
    except KeyboardInterrupt:
        say("stopped")
        return 130
    except Exception as e:  # a bug or an error from below (port library, onnxruntime): one line
        import os

        if os.environ.get("SRLIVE_TRACEBACK"):
            raise
        detail = " ".join(str(e).split())[:200]
        say(f"unexpected error: {type(e).__name__}: {detail} (run again with SRLIVE_TRACEBACK=1 for the "
            "details, and report it)")
        return 1


if __name__ == "__main__":
    sys.exit(main())
