"""Notification texts for people: Bahasa Indonesia by default, English by setting.

The words are tables in texts.py (per alert kind, event, cause and language); this module
fills them in. A message is built as plain lines; Telegram gets the same lines HTML-escaped
with a bold title.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass

from netwatch.alerting import cause_texts, complaint_texts
from netwatch.alerting.causes import CAUSE_ALERTS
from netwatch.alerting.kinds import VILLAGE_DOWN
from netwatch.alerting.onu_join import ONU_CAUSE_PREFIX
from netwatch.alerting.texts import CAUSES, EVENTS, FALLBACK, KINDS, ONU_CAUSE, ONU_FIRING, KindText
from netwatch.alerting.types import Alert, Event, Notification
from netwatch.core.i18n import (
    check_language,
    format_datetime,
    format_duration,
    format_time,
    join_list,
)

__all__ = ["CAUSES", "Message", "cause_text", "kind_text", "render"]


@dataclass(frozen=True, slots=True)
class Message:
    subject: str
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def html(self) -> str:
        return self.html_limited(None)

    def html_limited(self, limit: int | None) -> str:
        """Telegram HTML: every line escaped, the first one bold.

        limit caps the visible text (Telegram counts it after parsing): whole lines are
        dropped, or the line cut, before escaping, so no entity or tag is ever cut in half.
        """
        lines = list(self.lines)
        if limit is not None and len("\n".join(lines)) > limit:
            kept: list[str] = []
            used = 1  # the ellipsis
            for line in lines:
                if used + len(line) + (1 if kept else 0) > limit:
                    if not kept:
                        kept.append(line[: limit - 1])
                    break
                used += len(line) + (1 if kept else 0)
                kept.append(line)
            kept[-1] += "…"
            lines = kept
        escaped = [html.escape(line, quote=False) for line in lines]
        if escaped:
            escaped[0] = f"<b>{escaped[0]}</b>"
        return "\n".join(escaped)


def cause_text(cause: str | None, language: str) -> str | None:
    """The suspected cause in words: its text, then the devices it names in parentheses."""
    if not cause:
        return None
    key, _, arg = cause.partition(":")
    entry = CAUSES.get(key)
    if key.startswith(ONU_CAUSE_PREFIX) and arg:  # the village's ONU offline, and where
        return ONU_CAUSE[language].format(where=arg, why=onu_reason(key, language))
    if entry is None:
        own = cause_texts.CAUSES.get(key)  # the cause alerts' texts place their argument
        return cause if own is None else own[language].format(arg=arg or "?")
    text = entry[language]
    return f"{text} ({arg})" if arg else text


def onu_reason(key: str, language: str) -> str:
    """The OLT's reason for an ONU offline in words; a word we have no text for as the OLT
    says it ("onu_deactivated" → "deactivated")."""
    entry = CAUSES.get(key)
    return entry[language] if entry else key.removeprefix(ONU_CAUSE_PREFIX).replace("_", " ")


def kind_text(alert: Alert, language: str) -> KindText:
    """The words of alert's kind; an unknown kind by its severity."""
    by_lang = KINDS.get(alert.name) or FALLBACK.get(alert.labels.get("severity", ""))
    return (by_lang or FALLBACK["critical"])[language]


def _village(alert: Alert) -> str:
    name = alert.labels.get("village_name") or alert.labels.get("village", "?")
    code = alert.labels.get("village")
    return f"{name} ({code})" if code and code != name else name


def _district(alert: Alert) -> str:
    return alert.labels.get("district_name") or alert.labels.get("district", "?")


def _where(alert: Alert, language: str) -> str:
    """(Kec. Pesanggaran) after a device name, when the alert names a district."""
    if "district_name" not in alert.labels and "district" not in alert.labels:
        return ""
    name = _district(alert)
    return f" (Kec. {name})" if language == "id" else f" ({name} district)"


def render(
    notification: Notification,
    language: str = "id",
    tz: str = "Asia/Jakarta",
    link_base_url: str = "",
    village_names: Mapping[str, str] | None = None,
) -> Message:
    """The subject and lines people read for one notification."""
    own = complaint_texts.render(notification, language, tz, link_base_url)
    if own is not None:  # residents' reports: words of their own (complaint_texts.py)
        return Message(*own)
    lang = check_language(language)
    t = EVENTS[lang]
    alert = notification.alert
    if alert.name in CAUSE_ALERTS:  # they name the cause in their own words
        head, said = cause_texts.render(notification, lang, tz)
        if notification.event in (Event.REMINDER, Event.ESCALATION):
            ev = notification.event.value
            took = format_duration(notification.created_at - alert.starts_at, lang)
            since = format_datetime(alert.starts_at, lang, tz)
            said = [t[ev].format(since=since, duration=took), *said]
            head = t[f"subj_{ev}"].format(subject=head)
        return _closing(Message(head, tuple(said)), t, alert, notification, link_base_url)
    kind = kind_text(alert, lang)
    names = village_names or {}
    affected = [f"{names[c]} ({c})" if c in names else c for c in alert.affected_villages]
    fields = {
        "village": _village(alert),
        "district": _district(alert),
        "device": alert.labels.get("device", "?"),
        "count": str(len(alert.affected_villages)),
        "villages": join_list(affected, lang) or "-",
        "since": format_datetime(alert.starts_at, lang, tz),
        "name": alert.name,
        "where": _where(alert, lang),
        "what": alert.labels.get("summary") or ", ".join(alert.down_devices) or alert.name,
    }
    target = kind["target"].format(**fields)
    fields["target"] = target
    subject = kind["subject"].format(**fields)
    extra = notification.extra
    event = notification.event
    lines: list[str] = []
    key, _, onu_where = (alert.cause or "").partition(":")
    onu = alert.name == VILLAGE_DOWN and key.startswith(ONU_CAUSE_PREFIX) and bool(onu_where)
    if event is Event.RESOLVED:
        end = alert.ends_at if alert.ends_at is not None else notification.created_at
        duration = format_duration(end - alert.starts_at, lang)
        lines.append(kind["resolved"].format(end=format_time(end, tz), duration=duration, **fields))
        if extra.get("flapping"):
            lines.append(t["resolved_flapping"].format(changes=extra.get("changes", "?")))
            subject = t["subj_resolved_flapping"].format(target=target)
        else:
            subject = t["subj_resolved"].format(target=target)
    elif event is Event.FLAPPING:
        lines.append(kind["flapping"].format(**fields))
        if extra.get("changes"):
            lines.append(t["flapping_detail"].format(changes=extra["changes"]))
        subject = t["subj_flapping"].format(target=target)
    else:
        if onu:  # the OLT's fact is no guess: it is the first line, not "suspected cause"
            why = onu_reason(key, lang)
            lines.append(ONU_FIRING[lang].format(onu=onu_where, why=why, **fields))
        else:
            lines.append(kind["firing"].format(**fields))
        if event in (Event.REMINDER, Event.ESCALATION):
            # Elapsed as of the engine's decision, so a late retry still says the same.
            elapsed = format_duration(notification.created_at - alert.starts_at, lang)
            lines.insert(0, t[event.value].format(since=fields["since"], duration=elapsed))
            subject = t[f"subj_{event.value}"].format(subject=subject)
        elif event is Event.UPDATE:
            before = cause_text(extra.get("previous_cause"), lang) or t["none"]
            lines.insert(0, t["update"].format(previous=before))
            subject = t["subj_update"].format(subject=subject)
    if event is not Event.RESOLVED:
        if alert.down_devices and alert.name in KINDS:
            lines.append(t["devices"].format(devices=", ".join(alert.down_devices)))
        cause = cause_text(alert.cause, lang)
        if cause and not (onu and event is not Event.FLAPPING):  # said in the first line
            lines.append(t["cause"].format(cause=cause))
        if alert.path_break:
            lines.append(t["path"].format(hop=alert.path_break))
    reports = complaint_texts.attached_line(alert, lang)
    if reports:
        lines.append(reports)
    if alert.acknowledged_by:
        lines.append(t["ack"].format(who=alert.acknowledged_by))
    link = extra.get("link") or _link(link_base_url, alert)
    if link:
        lines.append(t["link"].format(link=link))
    return Message(subject=subject, lines=tuple(lines))


def _closing(
    message: Message, t: Mapping[str, str], alert: Alert, n: Notification, base: str
) -> Message:
    """A message with the acknowledgement and link lines every notification ends with."""
    lines = list(message.lines)
    if alert.acknowledged_by:
        lines.append(t["ack"].format(who=alert.acknowledged_by))
    link = n.extra.get("link") or _link(base, alert)
    if link:
        lines.append(t["link"].format(link=link))
    return Message(message.subject, tuple(lines))


def _link(base: str, alert: Alert) -> str | None:
    if not base:
        return None
    key = alert.labels.get("village") or alert.labels.get("device")
    return f"{base}{key}" if key else base
