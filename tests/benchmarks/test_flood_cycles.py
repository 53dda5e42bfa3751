"""What the timing benchmark's floods send (benchmarks.clients): the broken controller's cycle holds
every kind the issue names, on all 16 channels; the expressive controller's only per-note bend and
pressure on channels 2-9."""

from benchmarks.clients import FLOOD_CYCLE, MPE_CHANNELS, MPE_CYCLE


def test_the_flood_holds_notes_and_controllers_on_every_channel_and_every_kind():
    status = [m[0] for m in FLOOD_CYCLE]
    assert {s & 0x0F for s in status if 0x90 <= s < 0xA0} == set(range(16))
    assert {s & 0x0F for s in status if 0xB0 <= s < 0xC0} == set(range(16))
    kinds = {s & 0xF0 if s < 0xF0 else s for s in status if s >= 0x80}
    assert {0x80, 0x90, 0xA0, 0xB0, 0xD0, 0xE0, 0xF0, 0xFE} <= kinds
    assert [60, 100] in FLOOD_CYCLE  # data bytes without a status byte


def test_the_expressive_controller_streams_bend_and_pressure_on_channels_2_to_9_only():
    assert MPE_CHANNELS == tuple(range(1, 9))
    assert {m[0] & 0xF0 for m in MPE_CYCLE} == {0xD0, 0xE0}
    assert {m[0] & 0x0F for m in MPE_CYCLE} == set(MPE_CHANNELS)
    assert all(all(0 <= b < 128 for b in m[1:]) for m in MPE_CYCLE)
