"""The village's ONU joins the village's verdict: one page per village, naming the ONU fact.

The model is Alertmanager's inhibit_rules: a source alert (`VillageWifiDown` of village X with
an ONU cause) inhibits a target alert (`VillageOnuOffline` of village X) that says the same
thing from another angle. Here the inhibition is decided before anything fires:

- ONU offline on its OLT and every village router silent on an echo sent after the OLT said
  so (or no router to ask): the village is **down**, cause `onu_<reason>:<where>`; the ONU's
  own alert is not raised for this episode (it would only repeat the page).
- ONU offline but a village router answers after that: the village is up through another path;
  its verdict stays the echo stream's and the ONU alert is the one that adds information.
- ONU offline and no echo outcome since: the verdict waits (pending) for the routers' echo,
  never past `upstream_wait`; the engine asks for that echo at once.

Once the village alert carries the ONU cause it keeps it until the village is up again (the
routers booting after the power returns are the same outage, not a new diagnosis).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from netwatch.alerting.rules import OUTAGE_STATES, DeviceView, ServiceState, Verdict
from netwatch.core.model import OnuLink

ONU_CAUSE_PREFIX = "onu_"


@dataclass(slots=True)
class OnuEpisode:
    """One ONU-offline episode of a village, as its OLT's polls report it."""

    reason: str  # dying_gasp, los, another of the OLT's words, unknown
    since: float  # time of the first poll that listed the ONU offline for this reason
    joined: bool = False  # the village's alert took the ONU's cause in this episode
    other_path: bool = False  # a village router answered an echo sent after `since`


def where(link: OnuLink) -> str:
    """How the cause names the ONU: `olt-1 port 0/1/3 ONU 5` (words shared by both languages)."""
    if link.pon is not None:
        return f"{link.olt} port {link.pon} ONU {link.id}"
    return f"{link.olt} ONU {link.describe()}"


def cause(reason: str, link: OnuLink) -> str:
    return f"{ONU_CAUSE_PREFIX}{reason}:{where(link)}"


def is_onu_cause(value: str | None) -> bool:
    return value is not None and value.startswith(ONU_CAUSE_PREFIX)


def _answered(v: DeviceView, since: float) -> bool:
    return v.seen_at is not None and v.seen_at >= since and not v.failing


def _silent(v: DeviceView, since: float) -> bool:
    if _answered(v, since):
        return False
    lost_after = v.failing and v.seen_at is not None and v.seen_at >= since
    return lost_after or v.confirmed_up is False


def join(
    verdict: Verdict,
    episode: OnuEpisode | None,
    sticky: str | None,
    link: OnuLink,
    routers: Sequence[str],
    views: Mapping[str, DeviceView],
    now: float,
    wait: float,
) -> Verdict:
    """The village's verdict with its ONU's state joined in (updates episode's flags)."""
    if verdict.state is ServiceState.UNREACHABLE_UPSTREAM:
        return verdict  # a parent above is down: its own alert speaks for the village
    if episode is not None:
        known = [(n, views[n]) for n in routers if n in views]
        if any(_answered(v, episode.since) for _, v in known):
            episode.other_path = True
        elif all(_silent(v, episode.since) for _, v in known) or now - episode.since >= wait:
            silent = tuple(n for n, _ in known) if not verdict.down_devices else None
            episode.joined = True
            return dataclasses.replace(
                verdict,
                state=ServiceState.DOWN,
                cause=cause(episode.reason, link),
                down_devices=verdict.down_devices if silent is None else silent,
                pending=False,
                awaiting=(),
            )
        else:
            awaited = tuple(n for n, v in known if not _silent(v, episode.since))
            return dataclasses.replace(verdict, pending=True, awaiting=awaited)
    if sticky is not None and verdict.state in OUTAGE_STATES and not verdict.pending:
        return dataclasses.replace(verdict, cause=sticky)
    return verdict
