"""A plain (non-editable) install of adc carries the register's migrations and can migrate.

The wheel is built from a copy of the checkout and installed into a throwaway venv that borrows the
project venv's dependencies but not its editable path to include/, and the command runs from outside
the checkout: only what the wheel holds can serve it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import column, create_engine, inspect, select, table

import adc.ropa.tables  # noqa: F401 - the RoPA's tables live on the same MetaData
from adc.register.db import MIGRATIONS, VERSION_TABLE
from adc.register.tables import metadata

ROOT = Path(__file__).resolve().parents[3]


def _wheel(tmp_path: Path) -> Path:
    # a copy, so setuptools' build/ and egg-info never land in the shared checkout
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source)
    shutil.copytree(ROOT / "include", source / "include",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    str(source), "-w", str(tmp_path / "dist")], check=True)
    (wheel,) = (tmp_path / "dist").glob("adc-*.whl")
    return wheel


def _venv(tmp_path: Path, wheel: Path) -> Path:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
                    "--quiet", "--no-deps", "--no-index", str(wheel)], check=True)
    (purelib,) = (venv / "lib").glob("python*/site-packages")
    # The dependencies, as a plain path: a .pth line is not a site directory, so the project venv's
    # own .pth files (the editable install's path to include/ among them) are not read.
    (purelib / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def test_a_wheel_install_migrates_a_new_register_from_outside_the_checkout(tmp_path):
    wheel = _wheel(tmp_path)
    packaged = set(zipfile.ZipFile(wheel).namelist())
    shipped = {f"adc/register/migrations/{path.relative_to(MIGRATIONS).as_posix()}"
               for path in MIGRATIONS.rglob("*") if path.is_file() and "__pycache__" not in path.parts}
    assert "adc/register/migrations/script.py.mako" in shipped
    assert shipped <= packaged

    venv = _venv(tmp_path, wheel)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update(ADC_REGISTER_URL=url, ADC_HOME=str(tmp_path / "home"))

    where = subprocess.run([venv / "bin" / "python", "-c", "import adc; print(adc.__file__)"],
                           cwd=elsewhere, env=env, check=True, capture_output=True, text=True).stdout
    assert Path(where.strip()).resolve().is_relative_to(venv.resolve())

    result = subprocess.run([venv / "bin" / "adc", "register", "migrate"],
                            cwd=elsewhere, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert f"is at revision {head}" in result.stdout

    engine = create_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            version = conn.execute(select(column("version_num")).select_from(table(VERSION_TABLE))).scalar_one()
    finally:
        engine.dispose()
    assert set(metadata.tables) <= tables
    assert version == head
