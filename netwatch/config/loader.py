"""load_inventory: read the root file and its includes, validate everything, build Inventory."""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from importlib import resources

from netwatch.config import reader
from netwatch.config.builder import build, unknown_keys
from netwatch.config.checks import check_tree
from netwatch.config.credentials import parse_credentials
from netwatch.config.errors import ConfigError, Issues
from netwatch.config.inputs import Inputs, read_text, text_digest
from netwatch.config.nodes import Loc, YamlValue, parse, type_name
from netwatch.config.public_hours import check_public
from netwatch.config.regency import Tree
from netwatch.config.regions import ROOT_FORMS, Regions, finish, parse_included, parse_root
from netwatch.config.senders import check_direct_notifiers
from netwatch.config.shards import check_shards
from netwatch.core.model import Inventory, Settings

ROOT_KEYS = ("settings", "credentials", "include", *ROOT_FORMS)
INCLUDED_KEYS = ("districts", "regencies", "include")


def default_config_path() -> str:
    """The packaged default inventory (configs/banyuwangi.yaml)."""
    return str(resources.files("netwatch.configs").joinpath("banyuwangi.yaml"))


@dataclass(slots=True)
class Document:
    """One parsed file: the root or an included one (path as displayed in errors)."""

    path: str
    data: YamlValue
    text: str
    root: bool


Parse = Callable[[str, str], YamlValue]


def read_documents(path: str, texts: Mapping[str, str] | None = None) -> list[Document]:
    """Parse the root file and every include (depth first) as ruamel round-trip documents,
    which in-place edits write back; texts replaces file contents."""
    issues = Issues()
    docs: list[Document] = []
    _read(os.path.normpath(path), texts or {}, issues, docs, [], None, parse, None)
    issues.raise_if_any()
    return docs


def _read(
    path: str,
    texts: Mapping[str, str],
    issues: Issues,
    docs: list[Document],
    stack: list[str],
    origin: Loc | None,
    parse_text: Parse,
    inputs: Inputs | None,
) -> None:
    real = os.path.realpath(path)
    if real in stack:
        cycle = " -> ".join([*stack[stack.index(real) :], real])
        where = origin or Loc(path, 0, "")
        issues.at(where, f"include cycle: {cycle}")
        return
    if path in texts:
        text = texts[path]
    else:
        try:
            text = read_text(path)
        except OSError as exc:
            where = origin or Loc(path, 0, "")
            issues.at(where, f"cannot read {path}: {exc.strerror}")
            return
        if inputs is not None:
            inputs.files.append((path, text_digest(text)))
    try:
        data = parse_text(text, path)
    except ConfigError as exc:
        issues.items.extend(exc.issues)
        return
    doc = Document(path, data, text, root=not stack)
    docs.append(doc)
    if not isinstance(data, Mapping):
        if data is not None or not stack:
            issues.add(path, 1, "", f"the file must hold a mapping, not {type_name(data)}")
        return
    top = Loc(path, 1, "")
    patterns = data.get("include")
    if patterns is None:
        return
    iloc = top.key(data, "include")
    if not isinstance(patterns, list):
        issues.at(iloc, f"must be a list, not {type_name(patterns)}")
        return
    base = os.path.dirname(path)
    for i, pattern in enumerate(patterns):
        ploc = iloc.item(patterns, i)
        if not isinstance(pattern, str) or not pattern:
            issues.at(ploc, "must be a file path or glob")
            continue
        full = os.path.normpath(os.path.join(base, pattern))
        if glob.has_magic(full):
            matches = sorted(glob.glob(full))
            if inputs is not None:
                inputs.globs.append((full, matches))
            if not matches:
                issues.at(ploc, f"{pattern!r} matches no file")
        else:
            matches = [full]
            if full not in texts and not os.path.isfile(full):
                issues.at(ploc, f"include file {full} not found")
                continue
        inner = [*stack, real]
        for match in matches:
            _read(os.path.normpath(match), texts, issues, docs, inner, ploc, parse_text, inputs)


def load_inventory(
    path: str | os.PathLike,
    texts: Mapping[str, str] | None = None,
    inputs: Inputs | None = None,
) -> Inventory:
    """Load and validate; raise ConfigError listing every problem at once.

    inputs: filled with the files and globs read (netwatch.config.isolated: a reload whose
    inputs read the same needs no new load)."""
    path = os.fspath(path)
    issues = Issues()
    # Files that parsed are validated even when another one did not: report everything at once.
    # libyaml reads them (netwatch.config.reader): ~10x faster than the round-trip parser.
    docs: list[Document] = []
    _read(os.path.normpath(path), texts or {}, issues, docs, [], None, reader.parse, inputs)
    return build_inventory(docs, issues, path)


def build_inventory(docs: list[Document], issues: Issues, path: str) -> Inventory:
    """Validate parsed documents into an Inventory, or raise ConfigError with all issues."""
    settings = Settings()
    credentials: dict = {}
    tree = Tree()
    regions = Regions()
    settings_at: tuple[YamlValue, Loc] | None = None
    for doc in docs:
        data = doc.data
        if not isinstance(data, Mapping):
            continue
        top = Loc(doc.path, 1, "")
        if doc.root:
            unknown_keys(data, ROOT_KEYS, top, issues)
            if "settings" in data:
                built = build(Settings, data["settings"], top.key(data, "settings"), issues)
                settings = built or settings
                if built is not None:
                    check_direct_notifiers(data, top, built, issues)
                settings_at = (data["settings"], top.key(data, "settings"))
            credentials = parse_credentials(
                data.get("credentials"), top.key(data, "credentials"), issues
            )
            regions = parse_root(data, top, issues, tree)
        else:
            unknown_keys(data, INCLUDED_KEYS, top, issues)
            parse_included(data, top, regions, issues, tree)
    check_tree(tree, credentials, issues, _written_credentials(docs))
    regencies, provinces = finish(regions, issues, tree)
    assignment = check_shards(tree, settings.cluster.shards, issues)
    if settings_at is not None:
        check_public(*settings_at, tree, issues)
    issues.raise_if_any()
    single = regencies.get(regions.single or "")
    return Inventory(
        regency_code=single.code if single else "",
        regency_name=single.name if single else "",
        settings=_anchor_paths(settings, os.path.dirname(os.path.abspath(path))),
        districts={p.item.code: p.item for p in tree.districts},
        villages={p.item.code: p.item for p in tree.villages},
        devices={p.item.name: p.item for p in tree.devices},
        credentials=credentials,
        source=path,
        regencies=regencies,
        provinces=provinces,
        assignment=assignment,
    )


def _anchor_paths(settings: Settings, base: str) -> Settings:
    """Relative state paths are relative to the root config's folder (as Prometheus does),
    so `netwatch run` and `netwatch alerts` find the same database from any directory."""
    alerting = settings.alerting
    if not os.path.isabs(alerting.db_path):
        alerting = replace(alerting, db_path=os.path.join(base, alerting.db_path))
    influx = settings.influxdb
    if influx is not None and not os.path.isabs(influx.spool_dir):
        influx = replace(influx, spool_dir=os.path.join(base, influx.spool_dir))
    public = settings.public
    if not os.path.isabs(public.complaints_db):
        public = replace(public, complaints_db=os.path.join(base, public.complaints_db))
    return replace(settings, alerting=alerting, influxdb=influx, public=public)


def _written_credentials(docs: list[Document]) -> list[str]:
    for doc in docs:
        if doc.root and isinstance(doc.data, Mapping):
            creds = doc.data.get("credentials")
            snmp = creds.get("snmp") if isinstance(creds, Mapping) else None
            return [str(k) for k in snmp] if isinstance(snmp, Mapping) else []
    return []
