"""In-place inventory edits: round-trip YAML keeps comments; validate, then write atomically."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Mapping

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from netwatch.config.errors import ConfigError, Issue
from netwatch.config.loader import Document, load_inventory, read_documents
from netwatch.config.nodes import YamlValue, new_yaml
from netwatch.config.regions import district_lists
from netwatch.core.model import Device, Inventory

# Keys a user may set on a device; the loader derives the rest (district, village, source).
DEVICE_KEYS = (
    "name",
    "role",
    "address",
    "parent",
    "snmp",
    "profile",
    "tags",
    "ping",
    "ping_interval",
    "snmp_interval",
)


class EditError(Exception):
    """An edit that cannot be made (unknown device or village); nothing was written."""


class Editor:
    """Edits one config (root file and includes); save() validates the whole, then writes."""

    def __init__(self, path: str) -> None:
        self.path = os.path.normpath(path)
        self.docs = read_documents(self.path)
        self.changed: set[str] = set()

    def _districts(self, doc: Document) -> list:
        return [d for seq in district_lists(doc.data, doc.root) for d in seq]

    def _holders(self):
        """Yield (doc, district, village or None) for every place devices are listed."""
        for doc in self.docs:
            for district in self._districts(doc):
                if not isinstance(district, Mapping):
                    continue
                yield doc, district, None
                for village in district.get("villages") or ():
                    if isinstance(village, Mapping):
                        yield doc, district, village

    def find_device(self, name: str) -> tuple[Document, CommentedSeq, int]:
        for doc, district, village in self._holders():
            seq = (village if village is not None else district).get("devices")
            if not isinstance(seq, CommentedSeq):  # absent (or not a list: the loader says so)
                continue
            for i, dev in enumerate(seq):
                if isinstance(dev, Mapping) and dev.get("name") == name:
                    return doc, seq, i
        raise EditError(f"no device named {name!r} in {self.path} or its includes")

    def add_device(
        self,
        fields: Mapping[str, YamlValue],
        village: str | None = None,
        district: str | None = None,
    ) -> str:
        """Append a device to a village (or a district's own devices); returns the file."""
        for doc, d, v in self._holders():
            holder = None
            if village is not None and v is not None and v.get("code") == village:
                holder = v
            elif village is None and v is None and d.get("code") == district:
                holder = d
            if holder is None:
                continue
            seq = holder.get("devices")
            if not isinstance(seq, CommentedSeq):
                seq = CommentedSeq()
                # A district's own devices read best before its villages.
                holder.pop("devices", None)
                keys = list(holder)
                at = keys.index("villages") if "villages" in keys else len(keys)
                holder.insert(at, "devices", seq)
            item = CommentedMap()
            for key in DEVICE_KEYS:
                if fields.get(key) not in (None, [], ()):
                    value = fields[key]
                    if isinstance(value, list | tuple):
                        value = CommentedSeq(value)
                        value.fa.set_flow_style()
                    item[key] = value
            flow = all(getattr(x, "fa", None) is None or x.fa.flow_style() for x in seq)
            if flow:
                item.fa.set_flow_style()
            seq.append(item)
            self.changed.add(doc.path)
            return doc.path
        what = f"village {village}" if village is not None else f"district {district}"
        raise EditError(f"no {what} in {self.path} or its includes")

    def remove_device(self, name: str) -> str:
        doc, seq, i = self.find_device(name)
        del seq[i]
        self.changed.add(doc.path)
        return doc.path

    def set_device(self, name: str, key: str, value: YamlValue) -> tuple[YamlValue, str]:
        """Set (value not None) or delete (None) one key; returns (old value, file)."""
        if key not in DEVICE_KEYS:
            raise EditError(f"unknown device key {key!r} (one of {', '.join(DEVICE_KEYS)})")
        doc, seq, i = self.find_device(name)
        item = seq[i]
        old = item.get(key)
        if value is None:
            if key in ("name", "role", "address"):
                raise EditError(f"{key!r} is required and cannot be removed")
            item.pop(key, None)
        else:
            if isinstance(value, list):
                value = CommentedSeq(value)
                value.fa.set_flow_style()
            item[key] = value
        self.changed.add(doc.path)
        return old, doc.path

    def texts(self) -> dict[str, str]:
        out = {}
        yaml = new_yaml()
        for doc in self.docs:
            if doc.path in self.changed:
                buf = io.StringIO()
                yaml.dump(doc.data, buf)
                out[doc.path] = buf.getvalue()
        return out

    def save(self) -> Inventory:
        """Validate the edited config as a whole, then write each changed file atomically."""
        texts = self.texts()
        inventory = load_inventory(self.path, texts=texts)
        for path, text in texts.items():
            atomic_write(path, text)
        return inventory


def atomic_write(path: str, text: str) -> None:
    """Replace path with text: temp file in the same directory, fsync, rename."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a power cut
    finally:
        os.close(dir_fd)


def describe(device: Device) -> str:
    parts = [f"{device.name} ({device.role.value}, {device.address}"]
    if device.parent:
        parts.append(f", parent {device.parent}")
    return "".join(parts) + ")"


__all__ = ["ConfigError", "EditError", "Editor", "Issue", "atomic_write", "describe"]
