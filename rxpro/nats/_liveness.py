"""What a live subscription knows of its feed from the publishers' statuses: alive, ended, or lost.

Publishers (``_publish``) send, per data subject, a ``live`` status every heartbeat
(``every`` seconds) and one last status when they end (``completed``, ``closed``, or
``failed`` with the error). A subscription (``_consume``) hands each status to its
:class:`Feed` and asks it, a few times a second, for a :class:`Verdict`. Per subject:

- **live** while one of its publishers beats (its last beat within 2.5 of its intervals);
- **ended** when its newest status is an end and 2.5 intervals have passed since that end
  and since the subscription started or reconnected: time for a redundant or new publisher
  not heard yet to beat, which makes the subject live again (for an end from before the
  subscription started, the silence limit: time for the feed's next run to start);
- **lost** when its newest status is a beat older than the limit: ``StreamOptions.silence``,
  or 2.5 of the publishers' own intervals if longer (a publisher killed, a network cut).

The newest status of each subject that the server keeps is read back when the subscription
starts or reconnects, taken at the time it was stored; a kept beat of a publisher already
heard changes nothing, and a kept end is later than anything heard from its publisher (the
server's clock is not this process's). A subject lost or failed before the subscription
started ends it only once every other subject has ended too.

A subject nobody has spoken for is not judged: a feed may start after its consumers, and
values replayed from the stream's past say nothing about a feed being there. Redundant
publishers share a subject; shards of one wildcard don't, so one shard's end or loss is
told apart from the others'. Pure bookkeeping on loop times: no I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["GRACE", "STATES", "Feed", "Verdict"]

#: what a publisher's status says it is
STATES = frozenset({"live", "completed", "closed", "failed"})
#: heartbeat intervals: how long a publisher counts as beating after its last beat, and how long
#: an end waits for a publisher not heard yet
GRACE = 2.5
#: a publisher's interval when nothing said it (the default ``PublishOptions.heartbeat``)
_DEFAULT_EVERY = 1.0


@dataclass(frozen=True, slots=True)
class Verdict:
    """How a subscription ends: ``lost``, ``failed`` or ``completed``; ``drain``: only once it delivered all the server holds.

    ``seq``: the stream sequence of the last value the ended publishers stored (0: none, or not said);
    drained or not, the subscription ends only after it delivered that value (or waited a while for it).
    """

    kind: str
    subject: str
    publisher: str
    error: str | None = None
    limit: float = 0.0
    drain: bool = True
    seq: int = 0


@dataclass(slots=True)
class _Subject:
    alive: dict[str, tuple[float, float]] = field(default_factory=dict)  # publisher -> (last beat, interval)
    last_beat: tuple[float, str] | None = None  # (loop time, publisher), any publisher's
    last_end: tuple[float, str, str, str | None] | None = None  # (loop time, publisher, state, error)
    seq: int = 0  # the stream sequence of the last value an ended publisher said it stored
    every: float = 0.0  # the longest interval its publishers said
    newest: dict[str, float] = field(default_factory=dict)  # publisher -> when its newest status taken was sent

    def interval(self) -> float:
        return self.every or _DEFAULT_EVERY


class Feed:
    """The statuses one subscription heard, by data subject (see the module's docstring)."""

    def __init__(self, silence: float, now: float) -> None:
        self.silence = silence
        self.started = now  # the subscription started
        self.since = now  # the subscription started, or its connection came back
        self.subjects: dict[str, _Subject] = {}

    def heard(self, subject: str, status: Any, now: float, kept: bool = False) -> bool:
        """Take one status of ``subject``, sent at ``now``; False (and nothing taken) if it is not an rxpro status.

        ``kept``: read back from the server (the newest status it keeps of the subject), ``now``
        being when the server stored it, on the server's clock. So it is ordered by what is known
        of its publisher, not by that time: a kept beat of a publisher already heard says nothing
        new; a kept end is final, later than anything heard from its publisher.
        """
        if type(status) is not dict:
            return False
        publisher, state, every = status.get("publisher"), status.get("state"), status.get("every", _DEFAULT_EVERY)
        seq = status.get("seq", 0)
        if (type(publisher) is not str or state not in STATES or type(every) not in (int, float)
                or not 0 < every < float("inf") or type(seq) is not int or seq < 0):
            return False
        feed = self.subjects.setdefault(subject, _Subject())
        known = feed.newest.get(publisher)
        if kept and state == "live" and known is not None:
            return True
        if kept and state != "live":
            # the subject's newest status when it was read: later than every status heard before
            now = max([now, *(t for t in (known, feed.last_beat[0] if feed.last_beat else None) if t is not None)])
        feed.newest[publisher] = now if known is None else max(now, known)
        if now >= self.started:  # a run that was over before this subscription says nothing of the next's pace
            feed.every = max(feed.every, float(every))
        if state == "live":
            feed.alive[publisher] = (now, float(every))
            if feed.last_beat is None or now >= feed.last_beat[0]:
                feed.last_beat = (now, publisher)
        else:
            feed.alive.pop(publisher, None)
            error = status.get("error")
            if feed.last_end is None or now >= feed.last_end[0]:
                feed.last_end = (now, publisher, state, None if error is None else str(error))
            feed.seq = max(feed.seq, seq)
        return True

    def resume(self, now: float) -> None:
        """The subscription's connection is back: silences and waits count from now."""
        self.since = now

    def verdict(self, now: float) -> Verdict | None:
        """How the subscription should end now, or None (it goes on)."""
        ended: list[Verdict] = []
        earlier: list[Verdict] = []  # lost or failed before the subscription started (read back from the server)
        live = False
        for subject, feed in self.subjects.items():
            state = self._judge(subject, feed, now)
            if state is None:
                continue
            if isinstance(state, str):
                live = True
            elif self._before_start(state, feed):
                earlier.append(state)
            elif state.kind == "lost":
                return state
            else:
                ended.append(state)
        if earlier and not live and len(ended) + len(earlier) == len(self.subjects):
            # a subject that was dead before this subscription started ends it only once every
            # other has ended too: shards of a wildcard that go on are not cut by one that stopped
            # yesterday, nor one that ends by a publisher that takes over
            # (and after the last values of the subjects that ended by now)
            seq = max(verdict.seq for verdict in (*ended, *earlier))
            lost = [verdict for verdict in earlier if verdict.kind == "lost"]
            if lost and not any(verdict.kind == "failed" for verdict in ended):
                return Verdict("lost", lost[0].subject, lost[0].publisher, limit=lost[0].limit, seq=seq)
            ended.extend(earlier)
        failed = [verdict for verdict in ended if verdict.kind == "failed"]
        if failed:
            # with other subjects going on: after the failed ones' last stored values, not the
            # others' (the server holds more of those all the time); else after all that is stored
            first = failed[0]
            if live:
                return Verdict("failed", first.subject, first.publisher, first.error, drain=False,
                               seq=max(verdict.seq for verdict in failed))
            return Verdict("failed", first.subject, first.publisher, first.error, seq=max(v.seq for v in ended))
        if ended and not live and len(ended) == len(self.subjects):
            last = max(ended, key=self._ended_at)  # the feed's last end speaks for it
            return Verdict(last.kind, last.subject, last.publisher, last.error, seq=max(v.seq for v in ended))
        return None

    def _before_start(self, verdict: Verdict, feed: _Subject) -> bool:
        """Whether ``verdict`` (lost, or failed) was already so when the subscription started."""
        if verdict.kind == "lost":
            return feed.last_beat is not None and feed.last_beat[0] < self.started
        if verdict.kind == "failed":
            return feed.last_end is not None and feed.last_end[0] < self.started
        return False

    def _ended_at(self, verdict: Verdict) -> float:
        end = self.subjects[verdict.subject].last_end
        return end[0] if end is not None else 0.0

    def _judge(self, subject: str, feed: _Subject, now: float) -> Verdict | Literal["live"] | None:
        """``'live'``, an ended or lost :class:`Verdict`, or None (still waiting to tell)."""
        grace = GRACE * feed.interval()
        for publisher, (seen, every) in list(feed.alive.items()):
            if now - seen <= GRACE * every:
                return "live"
            if now - seen > 4 * max(self.silence, grace):
                del feed.alive[publisher]  # long silent: only last_beat still speaks of it
        for publisher, sent in list(feed.newest.items()):
            if now - sent > 4 * max(self.silence, grace) and publisher not in feed.alive:
                del feed.newest[publisher]
        end, beat = feed.last_end, feed.last_beat
        if end is not None and (beat is None or end[0] >= beat[0]):
            at, publisher, state, error = end
            # an end from before this subscription (read back from the server) leaves the feed's
            # next run as long to show up as a lost feed gets: a feed may start after its consumers
            if now - max(at, self.since) < (grace if at >= self.started else max(self.silence, grace)):
                return None
            return Verdict("failed" if state == "failed" else "completed", subject, publisher, error, seq=feed.seq)
        if beat is not None:
            limit = max(self.silence, grace)
            if now - max(beat[0], self.since) > limit:
                return Verdict("lost", subject, beat[1], limit=limit, drain=False)
        return None
