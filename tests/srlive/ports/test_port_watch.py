"""srlive.ports.watch on fakes: news said as it comes, and each way srlive can go deaf or mute
(the JACK server gone, srlive's port removed, a link that never comes back, the sender gone) said
once, in one line, to on_fatal."""

from srlive.ports.watch import PortWatch


class Port:
    def __init__(self, kind, name, full_name, virtual=False, news=()):
        self.kind, self.name, self.full_name, self.virtual = kind, name, full_name, virtual
        self.news = list(news)
        self.lost = None

    def poll(self):
        return self.news.pop(0) if self.news else None


class Graph:
    def __init__(self, listed, links=None):
        self.gone = None
        self.listed = listed
        self.links = links or {}

    def server_gone(self):
        return self.gone

    def ports(self):
        return self.listed

    def connections(self, full_name):
        return self.links.get(full_name, 1)


def watch(ports, graph, t):
    said, fatal = [], []
    w = PortWatch(ports, log=said.append, on_fatal=fatal.append, graph=graph, now=lambda: t[0], give_up=3.0)
    return w, said, fatal


IN = Port("input", "performer:out", "srlive:performer out")
OUT = Port("output", "daw:in", "srlive-01:daw in")
LISTED = ["performer:out", "srlive:performer out", "daw:in", "srlive-01:daw in"]


def test_news_is_said_and_a_healthy_graph_is_nothing_more():
    t = [0.0]
    port = Port("output", "daw:in", "srlive-01:daw in", news=["output 'daw:in' went away; keeping time"])
    w, said, fatal = watch([IN, port], Graph(LISTED), t)
    assert w.check() is None and w.check() is None
    assert said == ["output 'daw:in' went away; keeping time"] and fatal == []


def test_the_jack_server_stopping_is_fatal_and_said_once():
    t = [0.0]
    g = Graph(LISTED)
    w, said, fatal = watch([IN, OUT], g, t)
    assert w.check() is None
    g.gone = "JACK server has been closed"
    line = w.check()
    assert line and "JACK server stopped (JACK server has been closed)" in line and "\n" not in line
    assert w.check() is None and fatal == [line]


def test_a_port_jack_removed_is_fatal_naming_it_once_it_stays_away():
    t = [0.0]
    g = Graph([p for p in LISTED if p != "srlive:performer out"])
    w, said, fatal = watch([IN, OUT], g, t)
    assert w.check() is None  # away a moment (being reconnected): not yet
    t[0] = 3.5
    assert "removed srlive's input port 'srlive:performer out'" in w.check()
    assert "can no longer hear" in fatal[0]


def test_a_link_that_stays_broken_while_both_ends_are_there_is_fatal_after_give_up():
    t = [0.0]
    g = Graph(LISTED, links={"srlive-01:daw in": 0})
    w, said, fatal = watch([IN, OUT], g, t)
    assert w.check() is None
    t[0] = 2.9
    assert w.check() is None  # reconnecting gets its time
    t[0] = 3.1
    assert "stayed unlinked from 'daw:in'" in w.check() and "can no longer play" in fatal[0]


def test_a_port_away_for_a_moment_is_not_fatal():
    t = [0.0]
    g = Graph([p for p in LISTED if p != "srlive-01:daw in"])
    w, said, fatal = watch([IN, OUT], g, t)
    w.check()
    t[0] = 1.0
    g.listed = LISTED
    w.check()
    g.listed = [p for p in LISTED if p != "srlive-01:daw in"]
    t[0] = 3.5
    assert w.check() is None and fatal == []


def test_a_link_that_comes_back_in_time_starts_the_count_again():
    t = [0.0]
    g = Graph(LISTED, links={"srlive-01:daw in": 0})
    w, said, fatal = watch([IN, OUT], g, t)
    w.check()
    t[0] = 2.0
    g.links = {}
    w.check()
    g.links = {"srlive-01:daw in": 0}
    t[0] = 4.0
    assert w.check() is None
    t[0] = 6.5
    assert w.check() is None and fatal == []


def test_a_peer_that_went_away_is_waited_for_not_fatal():
    t = [0.0]
    g = Graph([p for p in LISTED if p != "daw:in"], links={"srlive-01:daw in": 0})
    w, said, fatal = watch([IN, OUT], g, t)
    t[0] = 100.0
    assert w.check() is None and w.check() is None and fatal == []


def test_a_virtual_port_with_nothing_linked_is_normal():
    t = [0.0]
    virt = Port("output", "srlive out", "srlive:srlive out", virtual=True)
    g = Graph(LISTED + ["srlive:srlive out"], links={"srlive:srlive out": 0})
    w, said, fatal = watch([virt], g, t)
    t[0] = 100.0
    assert w.check() is None and fatal == []


def test_the_sender_gone_is_fatal_without_jack():
    t = [0.0]
    out = Port("output", "IAC Bus 2", None)
    w, said, fatal = watch([out, None], None, t)
    assert w.check() is None
    out.lost = "the sender process ended (exit code -9)"
    assert w.check() == "the sender process ended (exit code -9): nothing srlive plays can be heard"


def test_a_port_whose_poll_raises_is_skipped():
    t = [0.0]

    class Broken(Port):
        def poll(self):
            raise OSError("gone")

    w, said, fatal = watch([Broken("input", "a", None)], Graph(LISTED), t)
    assert w.check() is None and said == []
