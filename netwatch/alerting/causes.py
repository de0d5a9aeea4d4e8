"""Alert kinds that name the cause, from what OLTs, controllers and POP routers report.

A village's ONU offline on its OLT (with the OLT's reason: dying gasp, loss of signal; joined to
the village's own verdict when the village is silent: onu_join.py), its
ONU's receive power below the fibre threshold (a warning before it fails), its uplink port down
on the POP, an AP its controller lost or reports with every radio down, an AP serving no
client for hours in office time. Each
is an Intent for the lifecycle, like kinds.py's; the cause is a label and the alert's cause.
A trap only asks for a poll (collectors/snmp); these alerts come from the poll that follows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import zoneinfo
from collections.abc import Callable, Iterator, Mapping

from netwatch.alerting import onu_join
from netwatch.alerting.cause_facts import FactsByDevice, onu_states, onu_where
from netwatch.alerting.kinds import VILLAGE_DOWN, Intent, Kinds
from netwatch.alerting.muting import InhibitRule
from netwatch.alerting.onu_join import OnuEpisode
from netwatch.alerting.records import OpenAlert
from netwatch.alerting.rules import OUTAGE_STATES, DeviceView, ServiceState, Verdict
from netwatch.alerting.seams import PollRequest
from netwatch.alerting.types import Severity, fingerprint
from netwatch.core import link_facts as cf
from netwatch.core.model import Device, Inventory, Role, Village

log = logging.getLogger("netwatch.alerting")

ONU_OFFLINE = "VillageOnuOffline"
ONU_RX_LOW = "VillageOnuRxLow"
UPLINK_DOWN = "VillageUplinkDown"
AP_LOST = "ApControllerLost"
RADIOS_DOWN = "ApRadiosDown"
NO_CLIENTS = "ApNoClients"
CAUSE_ALERTS = frozenset({ONU_OFFLINE, ONU_RX_LOW, UPLINK_DOWN, AP_LOST, RADIOS_DOWN, NO_CLIENTS})
# The village's alert naming its ONU says what the ONU's own alert said: an ONU alert paged
# while the village still answered is inhibited once the village goes silent (onu_join.py).
ONU_INHIBIT = InhibitRule(VILLAGE_DOWN, ONU_OFFLINE, ("village",), onu_join.ONU_CAUSE_PREFIX)
RX_HYSTERESIS = 1.0  # dB above the threshold before a low-power warning resolves
# A silent village whose OLT was last heard before the failure waits this long (seconds) for
# the OLT's poll it asks for: the ONU's state names the cause better than "router down".
OLT_WAIT = 5.0
SILENT_CAUSES = frozenset({"router_down", "all_devices_down"})
MADE_MAX = 200_000  # cause alerts' label sets kept (a few per watched village or device)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_UP = Verdict(ServiceState.UP)


class Causes:
    """The cause kinds of one inventory: facts per device in, intents per evaluation out."""

    def __init__(
        self, inventory: Inventory, kinds: Kinds, request_poll: PollRequest | None = None
    ) -> None:
        self.inventory = inventory
        self.kinds = kinds
        self.request_poll = request_poll
        self.asked: dict[str, float] = {}  # village → when its OLT was asked for a poll
        self.awaited_olts: set[str] = set()  # OLTs whose next poll a village waits for
        s = inventory.settings
        self.fibre, self.wifi = s.fibre, s.wifi
        self.hold_for = s.alerting.degraded_for
        self.upstream_wait = s.alerting.upstream_wait
        self.facts = FactsByDevice()
        self._made: dict[tuple[str, ...], Intent] = {}  # _named's, for this inventory
        self.zero_since: dict[str, float] = {}  # AP → first poll of its current zero-client run
        self._known_onus: set[str] = set()  # villages whose ONU the OLT listed this evaluation
        self.onu_villages = [v for v in inventory.villages.values() if v.onu is not None]
        # The ONU joins its village's verdict (onu_join.py): episodes, and the ONU cause an
        # outage keeps until the village is up again.
        self.episodes: dict[str, OnuEpisode] = {}
        self.sticky: dict[str, str] = {}
        self.routers = {v.code: self._routers(v) for v in self.onu_villages}
        self.onu_changed = False  # an OLT's poll changed an ONU's state: evaluate now
        self.uplink_villages = [v for v in inventory.villages.values() if v.uplink is not None]
        self.managed = [d for d in inventory.devices.values() if d.controller is not None]
        self.aps = [
            d for d in inventory.devices.values()
            if d.role is Role.AP and d.village is not None and d.snmp is not None
        ]  # fmt: skip
        # (facts, its version, the APs a poll counts clients of: themselves or their controller)
        self._counted: tuple[FactsByDevice | None, int, list[Device]] = (None, -1, [])
        self.watched = {v.onu.olt for v in self.onu_villages if v.onu is not None}
        self.watched |= {v.uplink.device for v in self.uplink_villages if v.uplink is not None}
        self.watched |= {d.controller.device for d in self.managed if d.controller is not None}
        self.watched |= {d.name for d in self.aps}
        start, _, end = self.wifi.office_hours.partition("-")
        self.office = (dt.time.fromisoformat(start), dt.time.fromisoformat(end))
        self.tz = zoneinfo.ZoneInfo(self.wifi.timezone)
        self._office_at = (math.nan, False)  # (now, _office(now)) of the last evaluation

    def on_observation(self, device_state: object, observation: object) -> None:
        """Keep the facts of a watched device's poll that answered."""
        device = getattr(device_state, "device", None)
        if not isinstance(device, Device) or device.name not in self.watched:
            return
        facts = cf.read(device_state, observation)
        if facts is not None:
            before = self.facts.get(device.name)
            self.facts[device.name] = facts
            if onu_states(before) != onu_states(facts) or device.name in self.awaited_olts:
                self.awaited_olts.discard(device.name)
                self.onu_changed = True

    def villages_of_olt(self, olt: str) -> list[str]:
        """The villages whose ONU hangs off this OLT."""
        return [v.code for v in self.onu_villages if v.onu is not None and v.onu.olt == olt]

    def adopt(self, old: Causes) -> None:
        """Keep what a reload must not forget: the last facts of devices still watched, and
        the ONU episodes and joined causes of villages still linked to an ONU (a reload in
        the middle of an outage must not turn its cause back into "router down"), and their
        asks of the OLT (a reload during OLT_WAIT asked again and held the verdict anew)."""
        self.facts = FactsByDevice({k: f for k, f in old.facts.items() if k in self.watched})
        self.zero_since = {k: t for k, t in old.zero_since.items() if k in self.inventory.devices}
        linked = {v.code for v in self.onu_villages}
        self.episodes = {k: e for k, e in old.episodes.items() if k in linked}
        self.sticky = {k: c for k, c in old.sticky.items() if k in linked}
        self.asked = {k: t for k, t in old.asked.items() if k in linked}
        self.awaited_olts = old.awaited_olts & self.watched

    def _routers(self, v: Village) -> list[str]:
        """The village devices whose echoes tell a silent village from one on another path."""
        pinged = [self.inventory.devices[n] for n in v.devices if n in self.inventory.devices]
        pinged = [d for d in pinged if d.ping]
        routers = [d.name for d in pinged if d.role is Role.ROUTER]
        return routers or [d.name for d in pinged]

    def village(
        self, code: str, verdict: Verdict, views: Mapping[str, DeviceView], now: float
    ) -> Verdict:
        """The village's verdict with its ONU's state joined in (before its kinds' intents)."""
        v = self.inventory.villages[code]
        if v.onu is None:
            return verdict
        facts = self.facts.get(v.onu.olt)
        got = cf.onu(facts, v.onu) if facts is not None else None
        if got is not None:
            ep = self.episodes.get(code)
            if got.up:
                self.episodes.pop(code, None)
            elif ep is None or ep.reason != got.cause:
                self.episodes[code] = OnuEpisode(got.cause, facts.time if facts else now)
        if code not in self.episodes and code not in self.sticky:
            held = self._ask_olt(code, v.onu.olt, verdict, views, now, facts)
            if held is not None:
                return held
        joined = onu_join.join(
            verdict, self.episodes.get(code), self.sticky.get(code), v.onu,
            self.routers.get(code, []), views, now, self.upstream_wait,
        )  # fmt: skip
        if joined.pending:
            return joined
        if joined.state in OUTAGE_STATES and onu_join.is_onu_cause(joined.cause):
            self.sticky[code] = joined.cause or ""
        elif joined.state is not ServiceState.UNKNOWN and joined.state not in OUTAGE_STATES:
            self.sticky.pop(code, None)
        return joined

    def _ask_olt(
        self,
        code: str,
        olt: str,
        verdict: Verdict,
        views: Mapping[str, DeviceView],
        now: float,
        facts: cf.DeviceFacts | None,
    ) -> Verdict | None:
        """A village gone silent whose OLT was last heard before the failure: ask the OLT for a
        poll and hold the verdict (pending) until it answers, at most OLT_WAIT; else None."""
        key = (verdict.cause or "").partition(":")[0]
        if verdict.state is not ServiceState.DOWN or verdict.pending or key not in SILENT_CAUSES:
            self.asked.pop(code, None)
            return None
        fails = [views[n].fail_since for n in verdict.down_devices if n in views]
        since = min((f for f in fails if f is not None), default=now)
        if facts is not None and facts.time >= since:
            return None  # the OLT's word since the failure is in: join decides
        asked = self.asked.get(code)
        if asked is None:
            taken = False
            try:
                taken = self.request_poll is not None and self.request_poll(
                    olt, "snmp", "village silent"
                )
            except Exception:
                log.exception("alerting: poll request for OLT %s failed", olt)
            asked = self.asked[code] = now if taken else now - OLT_WAIT  # no job: no wait
            if taken:
                self.awaited_olts.add(olt)
        if now - asked >= OLT_WAIT:
            return None
        return dataclasses.replace(verdict, pending=True, awaiting=())

    def _labels(self, name: str, severity: Severity, base: dict[str, str], **own: str) -> Intent:
        labels = {"alertname": name, "severity": str(severity), **base, **own}
        return Intent(labels, fingerprint(labels), _UP, want=False, may_resolve=False)

    def _named(
        self,
        name: str,
        severity: Severity,
        key: str,
        base: Callable[[str], dict[str, str]],
        **own: str,
    ) -> Intent:
        """_labels(name, severity, base(key), **own), made once per name, key and own values:
        every tick builds an intent for every watched village and AP, and a label set with
        its JSON and SHA-256 for each cost more than the rest of the tick (issue 10)."""
        made = (name, key, *own.values())
        got = self._made.get(made)
        if got is None:
            if len(self._made) > MADE_MAX:  # (an OLT's cause words are its own: bounded)
                self._made.clear()
            got = self._made[made] = self._labels(name, severity, base(key), **own)
        return got

    def _ap_labels(self, name: str) -> dict[str, str]:
        """A managed AP's labels: the device's, and its village where it has one."""
        base = self.kinds.device_labels(name)
        village = self.inventory.devices[name].village
        return base if village is None else {**base, "village": village}

    def _client_labels(self, name: str) -> dict[str, str]:
        """An AP's labels on its no-clients alert: the device's, and its village ("": none)."""
        village = self.inventory.devices[name].village or ""
        return {**self.kinds.device_labels(name), "village": village}

    def _intent(
        self, base: Intent, cause: str, *, want: bool, may_resolve: bool, hold: bool = False
    ) -> Intent:
        state = ServiceState.DEGRADED if base.labels["severity"] == "warning" else ServiceState.DOWN
        verdict = Verdict(state if want else ServiceState.UP, cause)
        return Intent(base.labels, base.fingerprint, verdict, want=want, may_resolve=may_resolve,
                      hold_for=self.hold_for if hold else None)  # fmt: skip

    def intents(
        self, now: float, views: Mapping[str, DeviceView], open_alerts: Mapping[str, OpenAlert]
    ) -> Iterator[Intent]:
        """Every cause intent now; open alerts of a cause no longer current resolve."""
        current: set[str] = set()
        for intent in self._all(now, views, open_alerts):
            current.add(intent.fingerprint)
            yield intent
        if not self._known_onus:  # (only the ONU villages' alerts resolve here: none)
            return
        for fp, a in list(open_alerts.items()):
            # An ONU back online, or offline now for another reason: the old cause's alert ends.
            if a.labels.get("alertname") == ONU_OFFLINE and fp not in current:
                code = a.labels.get("village", "")
                if code in self._known_onus:
                    yield Intent(a.labels, fp, _UP, want=False, may_resolve=True)

    def _all(
        self, now: float, views: Mapping[str, DeviceView], open_alerts: Mapping[str, OpenAlert]
    ) -> Iterator[Intent]:
        self._known_onus = set()
        for v in self.onu_villages:
            yield from self._onu(v)
        for v in self.uplink_villages:
            yield from self._uplink(v)
        for d in self.managed:
            yield from self._lost(d)
        if self.wifi.no_clients_for <= 0:
            return
        for d in self._counted_aps():
            yield from self._no_clients(d, now, views.get(d.name), open_alerts)

    def _counted_aps(self) -> list[Device]:
        """The APs (in inventory order) whose client count a poll may give: _no_clients yields
        nothing for the others (no count), and changes nothing of theirs."""
        facts = self.facts
        of, version, aps = self._counted
        if of is not facts or version != facts.version:
            counting = facts.counting
            aps = [
                d for d in self.aps
                if d.name in counting
                or (d.controller is not None and d.controller.ap is not None
                    and d.controller.device in counting)
            ]  # fmt: skip
            self._counted = (facts, facts.version, aps)
        return aps

    def _onu(self, v: Village) -> Iterator[Intent]:
        link = v.onu
        assert link is not None
        facts = self.facts.get(link.olt)
        got = cf.onu(facts, link) if facts is not None else None
        if got is None:
            return  # OLT not polled yet, not answering, or not listing the ONU: no change
        self._known_onus.add(v.code)
        base = self.kinds.village_labels
        where = onu_where(link)
        if not got.up:
            # Inhibited while the village's own alert names this ONU (onu_join.py): only an
            # ONU whose village still answers through another path is a page of its own.
            ep = self.episodes.get(v.code)
            alone = ep is not None and ep.other_path and not ep.joined
            b = self._named(ONU_OFFLINE, Severity.CRITICAL, v.code, base, **where,
                            cause=got.cause)  # fmt: skip
            yield self._intent(b, f"onu_{got.cause}", want=alone, may_resolve=False)
        sides = (("onu", got.rx_onu, link.rx_min_dbm, self.fibre.onu_rx_min_dbm),
                 ("olt", got.rx_olt, link.olt_rx_min_dbm, self.fibre.olt_rx_min_dbm))  # fmt: skip
        for side, rx, own, default in sides:
            limit = own if own is not None else default
            b = self._named(ONU_RX_LOW, Severity.WARNING, v.code, base, **where, side=side,
                            cause="rx_low")  # fmt: skip
            if rx is None:  # offline, or no reading: the offline alert says more
                yield self._intent(b, "rx_low", want=False, may_resolve=not got.up)
                continue
            yield self._intent(b, f"rx_low:{rx:.1f}/{limit:g}", want=rx < limit,
                               may_resolve=rx >= limit + RX_HYSTERESIS, hold=True)  # fmt: skip

    def _uplink(self, v: Village) -> Iterator[Intent]:
        link = v.uplink
        assert link is not None
        facts = self.facts.get(link.device)
        up = cf.port_up(facts, link.interface) if facts is not None else None
        if up is None:
            return
        b = self._named(UPLINK_DOWN, Severity.CRITICAL, v.code, self.kinds.village_labels,
                        device=link.device, interface=link.interface,
                        cause="uplink_port_down")  # fmt: skip
        yield self._intent(b, "uplink_port_down", want=not up, may_resolve=up)

    def _lost(self, d: Device) -> Iterator[Intent]:
        link = d.controller
        assert link is not None
        facts = self.facts.get(link.device)
        got = cf.ap_on_controller(facts, link) if facts is not None else None
        if got is None:
            return
        joined, state = got
        b = self._named(AP_LOST, Severity.CRITICAL, d.name, self._ap_labels,
                        controller=link.device, cause="controller_lost")  # fmt: skip
        yield self._intent(b, f"controller_lost:{state}", want=not joined, may_resolve=joined)
        radios = cf.radios_on_controller(facts, link) if facts is not None else None
        if radios is None or not joined:
            return  # a lost AP's radios are the lost alert's business
        up, total = radios
        # One radio still up serves Wi-Fi: only every radio down is an AP without Wi-Fi.
        r = self._named(RADIOS_DOWN, Severity.CRITICAL, d.name, self._ap_labels,
                        controller=link.device, cause="radio_down")  # fmt: skip
        yield self._intent(
            r, f"ap_radios_down:{total - up}/{total}", want=up == 0, may_resolve=up > 0
        )

    def _office(self, now: float) -> bool:
        at, office = self._office_at
        if at == now:  # (asked for every AP without clients in one evaluation)
            return office
        local = dt.datetime.fromtimestamp(now, self.tz)
        start, end = self.office
        office = DAYS[local.weekday()] in self.wifi.office_days and start <= local.time() < end
        self._office_at = (now, office)
        return office

    def _no_clients(
        self, d: Device, now: float, view: DeviceView | None, open_alerts: Mapping[str, OpenAlert]
    ) -> Iterator[Intent]:
        if self.wifi.no_clients_for <= 0:
            return
        link = d.controller
        count: float | None = None
        if link is not None and link.ap is not None and link.device in self.facts:
            count = cf.clients(self.facts[link.device], link.ap)
        if count is None and d.name in self.facts:
            count = cf.clients(self.facts[d.name])
        if count is None:
            return
        serving = view is not None and view.confirmed_up is True and not view.radio_down
        if count > 0 or not serving:
            self.zero_since.pop(d.name, None)
        elif self._office(now):
            self.zero_since.setdefault(d.name, now)
        since = self.zero_since.get(d.name)
        b = self._named(NO_CLIENTS, Severity.WARNING, d.name, self._client_labels,
                        cause="no_clients")  # fmt: skip
        want = since is not None and now - since >= self.wifi.no_clients_for
        if not want and b.fingerprint not in open_alerts:
            return  # nothing to fire or resolve (Lifecycle.idle): the AP's usual tick
        yield self._intent(b, "no_clients", want=want, may_resolve=count > 0 or not serving)
