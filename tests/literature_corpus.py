"""A tiny literature data folder in the shared layout, written by tests: BC5CDR and BioRED PubTator files,
the ADE corpus, Yu et al.'s claim-strength CSV and the NegEx file, all from templates, so the literature
miner can be trained and run end to end in seconds without the shared data."""

from __future__ import annotations

from pathlib import Path

CHEMICALS = ["cocaine", "lithium", "heparin", "cisplatin", "propofol", "warfarin", "nicotine", "digoxin",
             "amiodarone", "bleomycin", "naloxone", "furosemide"]
DISEASES = ["seizures", "hypotension", "nephrotoxicity", "bradycardia", "hepatitis", "anemia", "fever", "rash",
            "pneumonitis", "pulmonary fibrosis", "pleural effusion", "heart failure"]
CAUSE_FWD = ["{C} induced {d} in two patients.", "{C} caused severe {d}.", "{C} led to {d} in rats.",
             "{C} produced {d} in most cases."]
CAUSE_REV = ["{D} was induced by {c} in two patients.", "{D} caused by {c} was severe.", "{D} due to {c} resolved.",
             "{D} developed after {c} exposure."]
TREAT = ["{D} was treated with {c}.", "{C} relieved the {d} within hours.", "{C} is effective therapy for {d}.",
         "{D} responded to {c} treatment."]
PREVENT = ["{C} prevented {d} in all patients.", "Pretreatment with {c} protected against {d}."]
NONE = ["{C} levels and {d} were recorded.", "Patients with {d} and {c} use were enrolled."]


def _fill(template: str, chem: str, dis: str) -> tuple[str, int, int, int, int]:
    text = template.format(c=chem, C=chem.capitalize(), d=dis, D=dis.capitalize())
    c = chem.capitalize() if "{C}" in template else chem
    d = dis.capitalize() if "{D}" in template else dis
    i, j = text.find(c), text.find(d)
    return text, i, i + len(c), j, j + len(d)


def _pubtator(docs: list[tuple[str, str, list[tuple[int, int, str, str, str]], list[tuple[str, str, str]]]],
              biored: bool) -> str:
    blocks = []
    for pmid, text, mentions, rels in docs:
        title, _, abstract = text.partition(" ")
        lines = [f"{pmid}|t|{title}", f"{pmid}|a|{abstract}"]
        for s, e, t, kind, mesh in mentions:
            k = {"Chemical": "ChemicalEntity", "Disease": "DiseaseOrPhenotypicFeature"}[kind] if biored else kind
            lines.append(f"{pmid}\t{s}\t{e}\t{t}\t{k}\t{mesh}")
        for kind, a, b in rels:
            lines.append(f"{pmid}\t{kind}\t{a}\t{b}" + ("\tNo" if biored else ""))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def _abstracts(start: int, biored: bool) -> list:
    out = []
    n = start
    for k, (chem, dis) in enumerate(zip(CHEMICALS, DISEASES, strict=True)):
        c_id, d_id = f"C{k:06d}", f"D{k:06d}"
        groups = ((CAUSE_FWD, "cause"), (CAUSE_REV, "cause"), (TREAT, "treat"), (PREVENT, "treat"), (NONE, None))
        for templates, rel in groups:
            for t in templates:
                n += 1
                text, cs, ce, ds, de = _fill(t, chem, dis)
                mentions = [(cs, ce, text[cs:ce], "Chemical", c_id), (ds, de, text[ds:de], "Disease", d_id)]
                mentions.sort()
                rels = []
                if rel == "cause":
                    rels.append(("Positive_Correlation" if biored else "CID", c_id, d_id))
                elif rel == "treat" and biored:
                    rels.append(("Negative_Correlation", c_id, d_id))
                out.append((str(n), text, mentions, rels))
    return out


STRENGTH = {
    "1": ["{a} reduced {b} in adults.", "{a} increases the {b}.", "{a} caused {b} in mice.", "{a} improved {b}."],
    "2": ["{a} may reduce {b} in adults.", "{a} might increase the {b}.", "{a} could cause {b} in mice.",
          "Our results suggest that {a} may improve {b}."],
    "3": ["{a} was associated with {b} in adults.", "{a} correlated with the {b}.", "{a} was linked to higher {b}.",
          "{a} is associated with lower {b}."],
    "0": ["{a} was measured in {b} cohorts.", "We describe {a} and {b} in detail.", "The {a} protocol for {b} is feasible.",
          "{a} and {b} were recorded at baseline."],
}
NOUNS = [("statin use", "mortality"), ("exercise", "glycemia"), ("smoking", "lung function"),
         ("vitamin D", "fracture risk"), ("caffeine", "sleep quality"), ("aspirin", "bleeding")]
CONDITIONS = ["edema", "effusion", "pneumothorax", "consolidation", "cardiomegaly", "nodule", "fever", "cough"]


def write_literature_corpus(root: Path) -> Path:
    """Write the folder under ``root`` and return it (``root/literature``)."""
    lit = root / "literature"
    (lit / "bc5cdr").mkdir(parents=True)
    (lit / "biored").mkdir()
    (lit / "ade_corpus_v2").mkdir()
    (lit / "causal_language").mkdir()
    (lit / "negex").mkdir()
    train = _abstracts(1000, biored=False)
    (lit / "bc5cdr" / "CDR_TrainingSet.PubTator.txt").write_text(_pubtator(train, False), encoding="utf-8")
    (lit / "bc5cdr" / "CDR_DevelopmentSet.PubTator.txt").write_text(_pubtator(_abstracts(5000, False)[:20], False),
                                                                      encoding="utf-8")
    (lit / "biored" / "Train.PubTator").write_text(_pubtator(_abstracts(2000, True), True), encoding="utf-8")
    (lit / "biored" / "Test.PubTator").write_text(_pubtator(_abstracts(3000, True)[:10], True), encoding="utf-8")
    rel_lines, neg_lines = [], []
    for k, (chem, dis) in enumerate(zip(CHEMICALS, DISEASES, strict=True)):
        for t in CAUSE_FWD + CAUSE_REV:
            text, cs, ce, ds, de = _fill(t, chem, dis)
            rel_lines.append(f"{7000 + k}|{text}|{text[ds:de]}|{ds}|{de}|{text[cs:ce]}|{cs}|{ce}")
        for t in NONE + TREAT:
            neg_lines.append(f"{8000 + k} NEG {_fill(t, chem, dis)[0]}")
    (lit / "ade_corpus_v2" / "DRUG-AE.rel").write_text("\n".join(rel_lines) + "\n", encoding="utf-8")
    (lit / "ade_corpus_v2" / "ADE-NEG.txt").write_text("\n".join(neg_lines) + "\n", encoding="utf-8")
    rows = ["sentence,label"]
    for label, templates in STRENGTH.items():
        for t in templates:
            for a, b in NOUNS:
                rows.append(f'"{t.format(a=a, b=b)}",{label}')
    (lit / "causal_language" / "pubmed_causal_language_use.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    neg = ["line\tCondition\tsentence\tnegation_status\ttemporality\texperiencer"]
    i = 0
    for c in CONDITIONS:
        for sentence, status in ((f"There is no {c}.", "Negated"), (f"The patient denies {c}.", "Negated"),
                                 (f"Free of {c} today.", "Negated"), (f"No evidence of {c}.", "Negated"),
                                 (f"There is a small {c}.", "Affirmed"), (f"Mild {c} is present.", "Affirmed"),
                                 (f"The {c} has increased.", "Affirmed"), (f"New {c} is seen.", "Affirmed")):
            i += 1
            neg.append(f"{i}\t{c}\t{sentence}\t{status}\tRecent\tPatient")
    (lit / "negex" / "rsAnnotations-1-120-random.txt").write_text("\n".join(neg) + "\n", encoding="utf-8")
    return lit
