"""A fake Ableton Link session on a FakeClock, and a LinkClock made on it: the Link, meter and
take tests share them (no network)."""

from __future__ import annotations

from srlive.clocks.link import LinkClock, Snapshot, first_bar_line
from srlive_fakes import FakeClock

LINK_EPOCH = 1000.0  # engine clock − fake Link clock, seconds


class FakeSession:
    """A Link session on a FakeClock: piecewise-linear beats, peers, start/stop."""

    def __init__(self, clock: FakeClock, tempo=120.0, beat=0.0, peers=0):
        self.clock = clock
        self.drift = 0.0  # seconds Link's clock has gained on the engine's
        self.anchor = (self.micros(), beat, float(tempo))
        self.peers = peers
        self.is_playing = False
        self.start_us: float | None = None
        self.enabled = False
        self.proposed: list[float] = []

    def micros(self):
        return (self.clock.t - LINK_EPOCH + self.drift) * 1e6

    def beat_at_us(self, us):
        a_us, a_beat, tempo = self.anchor
        return a_beat + (us - a_us) / 1e6 * tempo / 60.0

    def session_beat_at(self, t):
        return self.beat_at_us((t - LINK_EPOCH + self.drift) * 1e6)

    def snapshot(self):
        us = self.micros()
        return Snapshot(us, self.beat_at_us(us), self.anchor[2])

    def set_tempo(self, bpm):  # as a peer does: the beat now stays where it is
        us = self.micros()
        self.anchor = (us, self.beat_at_us(us), float(bpm))

    def shift(self, beats):
        a_us, a_beat, tempo = self.anchor
        self.anchor = (a_us, a_beat + beats, tempo)

    def play(self, playing, at=None):
        self.is_playing = playing
        self.start_us = (at - LINK_EPOCH + self.drift) * 1e6 if at is not None else self.micros()

    # LinkSession
    def enable(self):
        self.enabled = True

    def close(self):
        self.enabled = False

    def num_peers(self):
        return self.peers

    def playing(self):
        return self.is_playing

    def propose_tempo(self, bpm):
        self.proposed.append(bpm)
        self.set_tempo(bpm)

    def beat_zero_at_start(self):
        self.shift(-first_bar_line(self.beat_at_us(self.start_us)))


def make(tempo=None, session_tempo=120.0, beat=0.0, peers=0, **kw):
    clk = FakeClock(5000.0)
    session = FakeSession(clk, session_tempo, beat, peers)
    clock = LinkClock(session, tempo, now=clk.now, **kw)
    return clk, session, clock


def run_for(clk, clock, seconds, dt=0.01):
    end = clk.t + seconds
    while clk.t < end:
        clk.t += dt
        clock.poll()
