"""Package discovery: one import name, `netwatch`, over the design card's top-level folders.

collectors/, exporters/ and configs/ sit beside netwatch/ in the repository but install as
netwatch.collectors, netwatch.exporters and netwatch.configs; every package below them is
found here, so a new collector or exporter package needs no packaging edit. Data folders the
product reads (DATA_PACKAGES) are listed as packages too, with their files as package data in
pyproject.toml: setuptools wants every folder it installs files from among `packages`.
configs/wilayah (the data the default inventory was generated from) is not installed.
"""

from setuptools import find_packages, setup

FOLDERS = {
    "netwatch": "netwatch",
    "netwatch.collectors": "collectors",
    "netwatch.exporters": "exporters",
    "netwatch.configs": "configs",
}

packages: list[str] = []
for name, folder in FOLDERS.items():
    packages.append(name)
    packages += [f"{name}.{sub}" for sub in find_packages(folder)]
# Vendor profiles; the public board's map geometry and its static CSS/JS.
DATA_PACKAGES = ["netwatch.configs.profiles", "netwatch.public.data", "netwatch.public.static"]
packages += DATA_PACKAGES
packages = sorted(set(packages))

setup(packages=packages, package_dir=FOLDERS)
