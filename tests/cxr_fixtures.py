"""Tiny chest label sources in the real files' layout, written by the tests that need them."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pandas as pd

PADCHEST = "PADCHEST_chest_x_ray_images_labels_160K_01.02.19.csv.gz"
NIH = "Data_Entry_2017_v2020.csv.gz"
CHEXPERT = "chexpert_train.csv.gz"
VINDR = "vinbigdata-train.csv.gz"
IU_REPORTS = "NLMCXR_reports.tgz"
IU_DICOM = "nlmcxr_dicom_metadata.csv.gz"


def _gz_csv(path: Path, frame: pd.DataFrame) -> None:
    with gzip.open(path, "wt", encoding="utf-8", newline="") as fh:
        frame.to_csv(fh, index=False)


def padchest_frame() -> pd.DataFrame:
    rows = [
        # study, patient, birth, sex, projection, date, maker, method, labels
        ("s1", "p1", 1950.0, "M", "PA", "20150914", "PhilipsMedicalSystems", "Physician",
         "['pleural effusion', ' cardiomegaly', 'unchanged']"),
        ("s1", "p1", 1950.0, "M", "L", "20150914", "PhilipsMedicalSystems", "Physician",
         "['pleural effusion', ' cardiomegaly', 'unchanged']"),
        ("s2", "p2", 1930.0, "F", "AP_horizontal", "20140101", "ImagingDynamicsCompanyLtd", "RNN_model",
         "['laminar atelectasis', 'NSG tube', '']"),
        ("s3", "p3", 1980.0, "F", "PA", "20160505", "PhilipsMedicalSystems", "RNN_model", "['normal']"),
        ("s4", "p3", 1980.0, "F", "PA", "20170505", "PhilipsMedicalSystems", "RNN_model", "['exclude']"),
        ("s5", "p4", 1940.0, "O", "AP", "20120202", "ImagingDynamicsCompanyLtd", "Physician", None),
        ("s6", "p5", 1960.0, "M", "PA", "20130303", "ImagingDynamicsCompanyLtd", "Physician",
         "['COPD signs', 'air trapping', 'hyperinflated lung', 'chronic changes']"),
    ]
    df = pd.DataFrame(rows, columns=["StudyID", "PatientID", "PatientBirth", "PatientSex_DICOM", "Projection",
                                     "StudyDate_DICOM", "Manufacturer_DICOM", "MethodLabel", "Labels"])
    df.insert(0, "ImageID", [f"img{i}.png" for i in range(len(df))])
    df.insert(0, "Unnamed: 0", range(len(df)))
    df["Report"] = "texto del informe"
    return df


def nih_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "Image Index": ["00000001_000.png", "00000001_001.png", "00000002_000.png", "00000003_000.png"],
        "Finding Labels": ["Cardiomegaly", "Cardiomegaly|Emphysema", "No Finding", "Effusion|Pleural_Thickening"],
        "Follow-up #": [0, 1, 0, 0], "Patient ID": [1, 1, 2, 3], "Patient Age": [57, 58, 81, 30],
        "Patient Gender": ["M", "M", "F", "F"], "View Position": ["PA", "PA", "AP", "AP"],
    })


CHEXPERT_LABELS = ["No Finding", "Enlarged Cardiomediastinum", "Cardiomegaly", "Lung Opacity", "Lung Lesion", "Edema",
                   "Consolidation", "Pneumonia", "Atelectasis", "Pneumothorax", "Pleural Effusion", "Pleural Other",
                   "Fracture", "Support Devices"]


def chexpert_frame() -> pd.DataFrame:
    base = "CheXpert-v1.0-small/train"
    rows = [
        (f"{base}/patient00001/study1/view1_frontal.jpg", "Female", 68, "Frontal", "AP", {"No Finding": 1.0, "Support Devices": 1.0}),
        (f"{base}/patient00002/study2/view1_frontal.jpg", "Female", 87, "Frontal", "PA",
         {"Cardiomegaly": -1.0, "Lung Opacity": 1.0, "Edema": -1.0, "Pleural Effusion": 0.0}),
        (f"{base}/patient00002/study2/view2_lateral.jpg", "Female", 87, "Lateral", None,
         {"Cardiomegaly": -1.0, "Lung Opacity": 1.0, "Edema": -1.0, "Pleural Effusion": 0.0}),
        (f"{base}/patient00003/study1/view1_frontal.jpg", "Male", 41, "Frontal", "AP", {"Pneumothorax": 1.0}),
    ]
    out = []
    for path, sex, age, fl, appa, labels in rows:
        rec = {"Path": path, "Sex": sex, "Age": age, "Frontal/Lateral": fl, "AP/PA": appa}
        rec.update({lab: labels.get(lab) for lab in CHEXPERT_LABELS})
        out.append(rec)
    return pd.DataFrame(out)


def vindr_frame() -> pd.DataFrame:
    rows = [
        ("img_a", "Cardiomegaly", 3, "R1", 1.0), ("img_a", "Cardiomegaly", 3, "R2", 2.0),
        ("img_a", "Pleural effusion", 10, "R3", 3.0), ("img_a", "Pleural effusion", 10, "R3", 4.0),
        ("img_b", "No finding", 14, "R1", None), ("img_b", "No finding", 14, "R4", None),
        ("img_b", "No finding", 14, "R5", None),
        ("img_c", "Nodule/Mass", 8, "R2", 1.0), ("img_c", "Nodule/Mass", 8, "R6", 1.0),
        ("img_c", "Nodule/Mass", 8, "R7", 1.0), ("img_c", "Other lesion", 9, "R7", 5.0),
    ]
    df = pd.DataFrame(rows, columns=["image_id", "class_name", "class_id", "rad_id", "x_min"])
    df["y_min"], df["x_max"], df["y_max"] = df["x_min"], df["x_min"], df["x_min"]
    return df


def iu_report_xml(uid: str, majors: list[str], automatic: list[str], images: list[str], findings: str = "") -> str:
    mesh = "".join(f"<major>{m}</major>" for m in majors) + "".join(f"<automatic>{a}</automatic>" for a in automatic)
    imgs = "".join(f'<parentImage id="{i}"><figureId>F1</figureId></parentImage>' for i in images)
    return (f'<?xml version="1.0" encoding="utf-8"?><eCitation><meta type="rr"/><uId id="{uid}"/>'
            f"<MedlineCitation><Article><Abstract>"
            f'<AbstractText Label="INDICATION">Cough.</AbstractText>'
            f'<AbstractText Label="FINDINGS">{findings}</AbstractText>'
            f'<AbstractText Label="IMPRESSION">See findings.</AbstractText>'
            f"</Abstract></Article></MedlineCitation><MeSH>{mesh}</MeSH>{imgs}</eCitation>")


IU_REPORTS_SPEC = [
    ("CXR1", ["normal"], [], ["CXR1_1_IM-0001-3001", "CXR1_1_IM-0001-4001"]),
    ("CXR2", ["Pulmonary Edema/interstitial/mild", "Cardiomegaly/mild"], ["Pleural Effusion", "pulmonary edema"],
     ["CXR2_1_IM-0652-1001"]),
    ("CXR3", ["No Indexing"], [], ["CXR3_1_IM-1384-1001"]),
    ("CXR4", ["Diaphragm/left/elevated", "Shoulder/right"], ["sternotomy"], []),
]


def iu_dicom_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "imageid": ["CXR1_1_IM-0001-3001", "CXR1_1_IM-0001-4001", "CXR2_1_IM-0652-1001", "CXR3_1_IM-1384-1001"],
        "View Position": ["PA", "LL", "AP", None],
        "Patient's Birth Date": ["19550820", "19550820", "19400101", "19900101"],
        "Study Date": ["20110328", "20110328", "20120101", "20120101"],
        "Manufacturer": [None, None, None, None],
        "Patient's Sex": [None, None, None, None],
    })


def write_iu(folder: Path, specs: list[tuple[str, list[str], list[str], list[str]]] | None = None) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for i, (uid, majors, auto, images) in enumerate(specs or IU_REPORTS_SPEC, start=1):
            data = iu_report_xml(uid, majors, auto, images).encode("utf-8")
            info = tarfile.TarInfo(f"ecgen-radiology/{i}.xml")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    (folder / IU_REPORTS).write_bytes(buf.getvalue())
    _gz_csv(folder / IU_DICOM, iu_dicom_frame())


def write_all(folder: Path) -> Path:
    """All five sources in ``folder``; returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    _gz_csv(folder / PADCHEST, padchest_frame())
    _gz_csv(folder / NIH, nih_frame())
    _gz_csv(folder / CHEXPERT, chexpert_frame())
    _gz_csv(folder / VINDR, vindr_frame())
    write_iu(folder)
    return folder


def write_frame(folder: Path, name: str, frame: pd.DataFrame) -> None:
    _gz_csv(folder / name, frame)
